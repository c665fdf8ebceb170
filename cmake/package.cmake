# cmake/package.cmake - what a packaged voxtrack installs beyond the library and the
# command (man pages, bash completion, systemd units, /etc/voxtrack, documentation), and
# the Debian packages that `make package` builds with CPack (docs/DEPLOY.md):
#
#   libvoxtrack<SOVERSION>  the shared library (component lib)
#   voxtrack                the command and everything above (component bin)
#   libvoxtrack-dev         headers, the static library, pkg-config and CMake files (dev)
#
# Package builds configure with -DCMAKE_INSTALL_PREFIX=/usr (the Makefile's `package`
# target does), so that GNUInstallDirs picks the multiarch library folder and the
# pkg-config and CMake files name /usr.

# ---- man pages: help2man over every command's --help, after each build of the command ----
find_program(VT_HELP2MAN help2man)
option(VT_MAN "Man pages from --help (needs help2man)" ON)
if(VT_MAN AND NOT VT_HELP2MAN)
  message(STATUS "help2man not found: no man pages (scripts/install-deps installs it)")
  set(VT_MAN OFF)
endif()
if(VT_MAN)
  execute_process(COMMAND git -C ${PROJECT_SOURCE_DIR} log -1 --format=%ct
    OUTPUT_VARIABLE VT_DATE_EPOCH OUTPUT_STRIP_TRAILING_WHITESPACE ERROR_QUIET)
  if(NOT VT_DATE_EPOCH)
    string(TIMESTAMP VT_DATE_EPOCH "%s" UTC)
  endif()
  add_custom_command(OUTPUT ${PROJECT_BINARY_DIR}/man/commands.txt
    COMMAND ${CMAKE_COMMAND} -DVT=$<TARGET_FILE:voxtrack_cli> -DOUT=${PROJECT_BINARY_DIR}/man
      -DVERSION=${PROJECT_VERSION} -DHELP2MAN=${VT_HELP2MAN} -DDATE_EPOCH=${VT_DATE_EPOCH}
      -P ${PROJECT_SOURCE_DIR}/cmake/manpages.cmake
    DEPENDS voxtrack_cli ${PROJECT_SOURCE_DIR}/cmake/manpages.cmake
    COMMENT "Man pages from --help (help2man)" VERBATIM)
  add_custom_target(voxtrack_man ALL DEPENDS ${PROJECT_BINARY_DIR}/man/commands.txt)
  install(DIRECTORY ${PROJECT_BINARY_DIR}/man/ DESTINATION ${CMAKE_INSTALL_MANDIR}/man1
    COMPONENT bin FILES_MATCHING PATTERN "*.1.gz")
endif()

# ---- the rest of the voxtrack package ----
set(VT_PKG ${PROJECT_SOURCE_DIR}/packaging)
install(FILES ${VT_PKG}/bash-completion/voxtrack
  DESTINATION ${CMAKE_INSTALL_DATADIR}/bash-completion/completions COMPONENT bin)
# The units and /etc/voxtrack name /usr/bin/voxtrack and /etc: they belong to an install
# under /usr (the packages), not to one under /usr/local. Debian 12 keeps system units in
# /lib/systemd/system (its units moved under /usr later).
if(CMAKE_INSTALL_PREFIX STREQUAL "/usr")
  set(VT_SYSTEMD_UNIT_DIR /lib/systemd/system CACHE PATH "Where the systemd units are installed")
  file(GLOB VT_UNITS CONFIGURE_DEPENDS ${VT_PKG}/systemd/*.service)
  install(FILES ${VT_UNITS} DESTINATION ${VT_SYSTEMD_UNIT_DIR} COMPONENT bin)
  install(FILES ${VT_PKG}/etc/serve.env ${VT_PKG}/etc/run.env ${VT_PKG}/etc/README
    DESTINATION /etc/voxtrack COMPONENT bin)
endif()
install(FILES README.md DESTINATION ${CMAKE_INSTALL_DOCDIR} COMPONENT bin)
install(DIRECTORY docs/ DESTINATION ${CMAKE_INSTALL_DOCDIR}/docs COMPONENT bin
  FILES_MATCHING PATTERN "*.md")

# ---- Debian packages (CPack) ----
set(VT_DEB_RELEASE 1)
set(VT_DEB_VERSION ${PROJECT_VERSION}-${VT_DEB_RELEASE})
set(VT_SOVERSION ${PROJECT_VERSION_MAJOR})
string(TIMESTAMP VT_DEB_DATE "%a, %d %b %Y %H:%M:%S +0000" UTC)
if(VT_DATE_EPOCH)
  set(ENV{SOURCE_DATE_EPOCH} ${VT_DATE_EPOCH})
  string(TIMESTAMP VT_DEB_DATE "%a, %d %b %Y %H:%M:%S +0000" UTC)
  unset(ENV{SOURCE_DATE_EPOCH})
endif()
configure_file(${VT_PKG}/debian/changelog ${PROJECT_BINARY_DIR}/debian/changelog.Debian @ONLY)
add_custom_command(OUTPUT ${PROJECT_BINARY_DIR}/debian/changelog.Debian.gz
  COMMAND gzip -9nkf ${PROJECT_BINARY_DIR}/debian/changelog.Debian
  DEPENDS ${PROJECT_BINARY_DIR}/debian/changelog.Debian VERBATIM)
add_custom_target(voxtrack_changelog ALL DEPENDS ${PROJECT_BINARY_DIR}/debian/changelog.Debian.gz)
set(VT_DEB_NAMES lib libvoxtrack${VT_SOVERSION} bin voxtrack dev libvoxtrack-dev)
foreach(comp lib bin dev)
  list(FIND VT_DEB_NAMES ${comp} i)
  math(EXPR i "${i} + 1")
  list(GET VT_DEB_NAMES ${i} name)
  install(FILES ${VT_PKG}/debian/copyright ${PROJECT_BINARY_DIR}/debian/changelog.Debian.gz
    DESTINATION ${CMAKE_INSTALL_DATADIR}/doc/${name} COMPONENT ${comp})
  # The warnings lintian gives that are kept, each with its reason.
  file(READ ${VT_PKG}/debian/lintian-overrides overrides)
  if(comp STREQUAL lib)
    file(READ ${VT_PKG}/debian/lintian-overrides-lib more)
    string(APPEND overrides "${more}")
  endif()
  string(CONFIGURE "${overrides}" overrides @ONLY)
  file(WRITE ${PROJECT_BINARY_DIR}/debian/overrides/${name} "${overrides}")
  install(FILES ${PROJECT_BINARY_DIR}/debian/overrides/${name}
    DESTINATION ${CMAKE_INSTALL_DATADIR}/lintian/overrides COMPONENT ${comp})
endforeach()
file(WRITE ${PROJECT_BINARY_DIR}/debian/conffiles
  "/etc/voxtrack/serve.env\n/etc/voxtrack/run.env\n/etc/voxtrack/README\n")

set(CPACK_GENERATOR DEB)
set(CPACK_PACKAGE_NAME voxtrack)
set(CPACK_PACKAGE_VENDOR "the voxtrack authors")
set(CPACK_PACKAGE_VERSION ${PROJECT_VERSION})
set(CPACK_PACKAGING_INSTALL_PREFIX ${CMAKE_INSTALL_PREFIX})
set(CPACK_STRIP_FILES ON)
set(CPACK_DEB_COMPONENT_INSTALL ON)
set(CPACK_COMPONENTS_ALL lib bin dev)
set(CPACK_DEBIAN_FILE_NAME DEB-DEFAULT) # NAME_VERSION_ARCH.deb
set(CPACK_DEBIAN_PACKAGE_RELEASE ${VT_DEB_RELEASE})
set(CPACK_DEBIAN_PACKAGE_MAINTAINER "voxtrack developers <voxtrack@example.org>")
set(CPACK_DEBIAN_PACKAGE_PRIORITY optional)
set(CPACK_DEBIAN_PACKAGE_SHLIBDEPS ON)
set(CPACK_DEBIAN_PACKAGE_SHLIBDEPS_PRIVATE_DIRS ${PROJECT_BINARY_DIR})
set(CPACK_DEBIAN_PACKAGE_CONTROL_STRICT_PERMISSION ON)

set(CPACK_DEBIAN_LIB_PACKAGE_NAME libvoxtrack${VT_SOVERSION})
set(CPACK_DEBIAN_LIB_PACKAGE_SECTION libs)
# A shlibs file for the library (packages that link it depend on this exact version: the
# ABI of a 0.x library is not promised), and an ldconfig trigger rather than the
# maintainer scripts that call ldconfig which CPack would write (packaging/debian/lib/).
set(CPACK_DEBIAN_PACKAGE_GENERATE_SHLIBS ON)
set(CPACK_DEBIAN_PACKAGE_GENERATE_SHLIBS_POLICY "=")
set(CPACK_DEBIAN_LIB_PACKAGE_CONTROL_EXTRA
  "${VT_PKG}/debian/lib/postinst;${VT_PKG}/debian/lib/postrm;${VT_PKG}/debian/lib/triggers")
set(CPACK_COMPONENT_LIB_DESCRIPTION "multi-camera 3D tracking of small moving objects (library)
libvoxtrack turns the frames of many calibrated cameras into 3D tracks of
small moving objects (drones up to a few kilometres away, among birds and
clutter): motion, rays, sparse voxel voting, 3D detections, Kalman/MHT
tracking, and streams, dashboard and alerts for the results.

This package holds the shared library.")

set(CPACK_DEBIAN_BIN_PACKAGE_NAME voxtrack)
set(CPACK_DEBIAN_BIN_PACKAGE_SECTION science)
set(CPACK_DEBIAN_BIN_PACKAGE_DEPENDS "libvoxtrack${VT_SOVERSION} (= ${VT_DEB_VERSION})")
set(CPACK_DEBIAN_BIN_PACKAGE_CONTROL_EXTRA
  "${VT_PKG}/debian/postinst;${VT_PKG}/debian/prerm;${VT_PKG}/debian/postrm;${PROJECT_BINARY_DIR}/debian/conffiles")
set(CPACK_COMPONENT_BIN_DESCRIPTION "multi-camera 3D tracking of small moving objects
voxtrack turns the frames of many calibrated cameras into 3D tracks of
small moving objects (drones up to a few kilometres away, among birds and
clutter). Its command runs the tracker on recorded or live cameras (image
sequences, video files and streams, GigE Vision), simulates scenes, scores
tracks against the truth, streams tracks as Protocol Buffers, Cursor-on-Target
and SAPIENT (BSI Flex 335), and serves a dashboard, Prometheus metrics and
alerts.

This package holds the voxtrack command with its man pages and bash
completion, and systemd units for its services (configured in /etc/voxtrack).")

set(CPACK_DEBIAN_DEV_PACKAGE_NAME libvoxtrack-dev)
set(CPACK_DEBIAN_DEV_PACKAGE_SECTION libdevel)
set(CPACK_DEBIAN_DEV_PACKAGE_DEPENDS
  "libvoxtrack${VT_SOVERSION} (= ${VT_DEB_VERSION}), pkg-config, libavformat-dev, libavcodec-dev, libavutil-dev, libswscale-dev, libjansson-dev, libaravis-dev, liblz4-dev, libproj-dev, libmicrohttpd-dev, libcurl4-openssl-dev | libcurl-dev, libnats-dev, libnanopb-dev, libgomp1")
set(CPACK_DEBIAN_DEV_PACKAGE_SHLIBDEPS OFF)
set(CPACK_COMPONENT_DEV_DESCRIPTION "multi-camera 3D tracking of small moving objects (development files)
libvoxtrack turns the frames of many calibrated cameras into 3D tracks of
small moving objects (drones up to a few kilometres away, among birds and
clutter).

This package holds the headers, the static library, the pkg-config file and
the CMake package configuration (find_package(voxtrack)).")
include(CPack)
