# Every dependency is a Debian 12 package, found through find_package or pkg-config.
find_package(Threads REQUIRED)
find_package(OpenSSL 3.0 REQUIRED)
find_package(PkgConfig REQUIRED)
pkg_check_modules(SRTP2 REQUIRED IMPORTED_TARGET libsrtp2)
pkg_check_modules(USRSCTP REQUIRED IMPORTED_TARGET usrsctp)
pkg_check_modules(OPUS REQUIRED IMPORTED_TARGET opus)
pkg_check_modules(VPX REQUIRED IMPORTED_TARGET vpx)
# H.264 for the codec helpers only (src/codec: examples, tests, benchmarks), never the protocol core.
pkg_check_modules(OPENH264 REQUIRED IMPORTED_TARGET openh264)
