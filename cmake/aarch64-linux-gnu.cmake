# Cross-compiling for arm64 (aarch64) with Debian's crossbuild-essential-arm64 against a Debian
# sysroot made by mmdebstrap (scripts/cross arm64 makes both; ../shared/BUILD-NOTES.md says why a
# sysroot and not multiarch). Pass -DDAPDEE_SYSROOT=DIR. Tests run under qemu-aarch64-static.
set(CMAKE_SYSTEM_NAME Linux)
set(CMAKE_SYSTEM_PROCESSOR aarch64)
set(DAPDEE_TRIPLET aarch64-linux-gnu)
list(APPEND CMAKE_TRY_COMPILE_PLATFORM_VARIABLES DAPDEE_SYSROOT)
if(NOT DAPDEE_SYSROOT)
  message(FATAL_ERROR "cmake/aarch64-linux-gnu.cmake: set -DDAPDEE_SYSROOT=DIR (scripts/cross arm64 makes one)")
endif()
set(CMAKE_SYSROOT ${DAPDEE_SYSROOT})
set(CMAKE_CXX_COMPILER ${DAPDEE_TRIPLET}-g++)
set(CMAKE_C_COMPILER ${DAPDEE_TRIPLET}-gcc)
# Headers and libraries from the sysroot only; programs (protoc, python3) from the host.
set(CMAKE_FIND_ROOT_PATH ${DAPDEE_SYSROOT})
set(CMAKE_FIND_ROOT_PATH_MODE_PROGRAM NEVER)
set(CMAKE_FIND_ROOT_PATH_MODE_LIBRARY ONLY)
set(CMAKE_FIND_ROOT_PATH_MODE_INCLUDE ONLY)
set(CMAKE_FIND_ROOT_PATH_MODE_PACKAGE ONLY)
# The extract variant of mmdebstrap runs no maintainer scripts: the BLAS/LAPACK alternatives
# live in subfolders, which the linker must see to resolve OpenCV's dependencies.
set(lib ${DAPDEE_SYSROOT}/usr/lib/${DAPDEE_TRIPLET})
string(APPEND CMAKE_EXE_LINKER_FLAGS_INIT " -Wl,-rpath-link,${lib}:${lib}/blas:${lib}/lapack")
# Debian's lemonConfig.cmake names /usr paths: the sysroot's instead (a preset cache entry wins).
set(LEMON_INCLUDE_DIR ${DAPDEE_SYSROOT}/usr/include CACHE PATH "")
set(LEMON_LIBRARY ${lib}/liblemon.a CACHE FILEPATH "")
# Host tools that CMake's packages look up by path (the same Debian versions as the sysroot's).
set(Protobuf_PROTOC_EXECUTABLE /usr/bin/protoc CACHE FILEPATH "")
# Test programs and discovery (catch_discover_tests) run under user-mode emulation.
set(CMAKE_CROSSCOMPILING_EMULATOR /usr/bin/qemu-aarch64-static -L ${DAPDEE_SYSROOT})
