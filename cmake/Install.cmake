include(CMakePackageConfigHelpers)

install(TARGETS rtcpp EXPORT rtcppTargets
  ARCHIVE DESTINATION ${CMAKE_INSTALL_LIBDIR}
  LIBRARY DESTINATION ${CMAKE_INSTALL_LIBDIR}
  RUNTIME DESTINATION ${CMAKE_INSTALL_BINDIR})
install(DIRECTORY include/rtcpp DESTINATION ${CMAKE_INSTALL_INCLUDEDIR})
install(EXPORT rtcppTargets NAMESPACE rtcpp:: DESTINATION ${CMAKE_INSTALL_LIBDIR}/cmake/rtcpp)

configure_package_config_file(cmake/rtcppConfig.cmake.in ${CMAKE_CURRENT_BINARY_DIR}/rtcppConfig.cmake
  INSTALL_DESTINATION ${CMAKE_INSTALL_LIBDIR}/cmake/rtcpp)
write_basic_package_version_file(${CMAKE_CURRENT_BINARY_DIR}/rtcppConfigVersion.cmake
  COMPATIBILITY SameMinorVersion)
install(FILES ${CMAKE_CURRENT_BINARY_DIR}/rtcppConfig.cmake ${CMAKE_CURRENT_BINARY_DIR}/rtcppConfigVersion.cmake
  DESTINATION ${CMAKE_INSTALL_LIBDIR}/cmake/rtcpp)

configure_file(cmake/rtcpp.pc.in ${CMAKE_CURRENT_BINARY_DIR}/rtcpp.pc @ONLY)
install(FILES ${CMAKE_CURRENT_BINARY_DIR}/rtcpp.pc DESTINATION ${CMAKE_INSTALL_LIBDIR}/pkgconfig)
