# What an install needs beside the executables (tools/CMakeLists.txt) and the man pages
# (docs/man/CMakeLists.txt): the data that installed tools find relative to themselves, in
# PREFIX/share/dapdee (lib/dapdee/model/network.cpp), and the helper the profiler's warnings name.
include(GNUInstallDirs)
set(DAPDEE_DATA_DIR ${CMAKE_INSTALL_DATADIR}/dapdee)
install(DIRECTORY ${PROJECT_SOURCE_DIR}/networks/ DESTINATION ${DAPDEE_DATA_DIR}/networks FILES_MATCHING PATTERN "*.json")
install(DIRECTORY ${PROJECT_SOURCE_DIR}/profiles/specs/ DESTINATION ${DAPDEE_DATA_DIR}/specs FILES_MATCHING PATTERN "*.json")
install(PROGRAMS ${PROJECT_SOURCE_DIR}/scripts/quiet-check DESTINATION ${DAPDEE_DATA_DIR}/scripts)

# An install that stands alone: installed into a temporary prefix, moved, run with the checkout's
# presets out of reach; and no checkout or build path left in the stripped binaries.
if(BUILD_TESTING)
  add_test(NAME install_stands_alone
    COMMAND bash ${PROJECT_SOURCE_DIR}/tests/install_stands_alone.sh ${CMAKE_COMMAND} ${CMAKE_BINARY_DIR} ${PROJECT_SOURCE_DIR}
            $<$<BOOL:${DAPDEE_SANITIZE}>:sanitized>)
endif()
