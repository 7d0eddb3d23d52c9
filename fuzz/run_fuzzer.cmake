# Runs one libFuzzer target for SECONDS on a scratch copy of its corpus (the committed corpus stays as it is),
# with the regression inputs as extra seeds. Any crash fails the test; libFuzzer writes the input to WORK.
file(REMOVE_RECURSE ${WORK})
file(MAKE_DIRECTORY ${WORK}/corpus ${WORK}/artifacts)
foreach(dir ${CORPUS} ${REGRESSIONS})
  if(EXISTS ${dir})
    file(GLOB seeds ${dir}/*)
    if(seeds)
      file(COPY ${seeds} DESTINATION ${WORK}/corpus)
    endif()
  endif()
endforeach()
execute_process(COMMAND ${FUZZER} -max_total_time=${SECONDS} -timeout=10 -rss_limit_mb=2048 -print_final_stats=1
                        -artifact_prefix=${WORK}/artifacts/ ${WORK}/corpus
  RESULT_VARIABLE rc OUTPUT_VARIABLE out ERROR_VARIABLE err)
string(REGEX MATCH "stat::number_of_executed_units: *[0-9]+" execs "${err}")
message("${FUZZER}: ${execs}")
if(NOT rc EQUAL 0)
  message("${err}")
  message(FATAL_ERROR "fuzzer failed (exit ${rc}); crashing input under ${WORK}/artifacts")
endif()
