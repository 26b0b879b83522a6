# The Debian package dapdee-tools_<version>_<arch>.deb (scripts/package): what `cmake --install`
# installs (the tools, man pages, network presets, device specs and quiet-check), under /usr,
# with stripped binaries. Dependencies come from dpkg-shlibdeps on the build machine's own
# architecture; a cross-build lists them exactly (-DCPACK_DEBIAN_PACKAGE_DEPENDS=..., which
# scripts/package takes from the native package: Debian names the libraries the same on every
# architecture).
set(CPACK_GENERATOR DEB)
set(CPACK_PACKAGE_NAME dapdee-tools)
set(CPACK_PACKAGE_VERSION ${PROJECT_VERSION})
set(CPACK_PACKAGE_CONTACT "dapdee maintainers <dapdee@invalid>")
set(CPACK_PACKAGE_DESCRIPTION_SUMMARY "DNN partitioning between a device and an edge server: import, profile, plan, split, run")
set(CPACK_PACKAGING_INSTALL_PREFIX /usr)
set(CPACK_STRIP_FILES ON)
set(CPACK_DEBIAN_FILE_NAME DEB-DEFAULT)
set(CPACK_DEBIAN_PACKAGE_SECTION science)
if(CMAKE_CROSSCOMPILING)
  if(CMAKE_SYSTEM_PROCESSOR STREQUAL aarch64)
    set(CPACK_DEBIAN_PACKAGE_ARCHITECTURE arm64)
  endif()
  set(CPACK_DEBIAN_PACKAGE_SHLIBDEPS OFF)
else()
  set(CPACK_DEBIAN_PACKAGE_SHLIBDEPS ON)
endif()
include(CPack)
