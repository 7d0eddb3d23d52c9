# Runs one libFuzzer target for SECONDS on a scratch copy of its corpus (the committed corpus stays as it is),
# with the regression inputs as extra seeds. Any crash fails the test; libFuzzer writes the input to WORK.
#
# SEED fixes libFuzzer's random seed so a CI run explores the same inputs as the run that verified the commit
# (a time-bounded prefix of one deterministic sequence); SEED=0 lets libFuzzer pick one. Open-ended bug hunting
# with fresh seeds is scripts/fuzz.sh's job.
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
if(NOT DEFINED SEED)
  set(SEED 0)
endif()
execute_process(COMMAND ${FUZZER} -seed=${SEED} -max_total_time=${SECONDS} -timeout=10 -rss_limit_mb=2048
                        -print_final_stats=1 -artifact_prefix=${WORK}/artifacts/ ${WORK}/corpus
  RESULT_VARIABLE rc OUTPUT_VARIABLE out ERROR_VARIABLE err)
string(REGEX MATCH "stat::number_of_executed_units: *[0-9]+" execs "${err}")
message("${FUZZER} (seed ${SEED}): ${execs}")
if(NOT rc EQUAL 0)
  # The report is the end of libFuzzer's output; the progress lines before it would drown it in CI logs.
  string(FIND "${err}" "==ERROR" at)
  if(at EQUAL -1)
    string(FIND "${err}" "ERROR:" at)
  endif()
  if(at GREATER -1)
    string(SUBSTRING "${err}" ${at} -1 err)
  endif()
  message("${err}")
  # The crashing input itself, so a crash seen only in CI can be replayed from its log.
  file(GLOB crashes ${WORK}/artifacts/*)
  foreach(crash ${crashes})
    execute_process(COMMAND base64 -w 0 ${crash} OUTPUT_VARIABLE b64)
    message("${crash} (base64): ${b64}")
  endforeach()
  message(FATAL_ERROR "fuzzer failed (exit ${rc}); crashing input under ${WORK}/artifacts")
endif()
