# cmake -DVT=BINARY -DOUT=DIR -DVERSION=X.Y.Z -DHELP2MAN=PATH [-DDATE_EPOCH=N] -P manpages.cmake
#
# Man pages from the --help of the command and of each subcommand, with help2man, so
# that they say what --help says (tests/cli/man_pages.sh checks they do): voxtrack.1.gz
# and voxtrack-COMMAND.1.gz for every command that `voxtrack --help` lists.
if(DEFINED DATE_EPOCH)
  set(ENV{SOURCE_DATE_EPOCH} ${DATE_EPOCH}) # help2man dates the pages with it: reproducible
endif()
file(REMOVE_RECURSE ${OUT})
file(MAKE_DIRECTORY ${OUT}/bin)
execute_process(COMMAND ${VT} --help OUTPUT_VARIABLE help RESULT_VARIABLE rc)
if(NOT rc EQUAL 0)
  message(FATAL_ERROR "man pages: '${VT} --help' exited ${rc}")
endif()

# "  name   summary" lines after "Commands:".
string(REPLACE "\n" ";" lines "${help}")
set(in_commands OFF)
set(names "")
foreach(line IN LISTS lines)
  if(line MATCHES "^Commands:")
    set(in_commands ON)
  elseif(in_commands AND line MATCHES "^  ([a-z][a-z0-9-]*)  +(.*)$")
    list(APPEND names ${CMAKE_MATCH_1})
    set(summary_${CMAKE_MATCH_1} "${CMAKE_MATCH_2}")
  elseif(in_commands AND NOT line MATCHES "^  ")
    set(in_commands OFF)
  endif()
endforeach()
if(NOT names)
  message(FATAL_ERROR "man pages: no commands in '${VT} --help'")
endif()

set(see_also "voxtrack(1)")
foreach(n IN LISTS names)
  string(APPEND see_also ", voxtrack-${n}(1)")
endforeach()
file(WRITE ${OUT}/bin/common.h2m "[SEE ALSO]\n${see_also}.\n.PP\n"
  "The documentation in /usr/share/doc/voxtrack (README.md and docs/) describes the file\n"
  "formats, the streams, the dashboard, SAPIENT, the alert rules and the services.\n")

function(page name prog help_option summary)
  execute_process(
    COMMAND ${HELP2MAN} --no-info --no-discard-stderr --version-string=${VERSION}
      --name=${summary} --help-option=${help_option} --include=${OUT}/bin/common.h2m
      --output=${OUT}/${name}.1 ${prog}
    RESULT_VARIABLE rc ERROR_VARIABLE err)
  if(NOT rc EQUAL 0)
    message(FATAL_ERROR "man pages: help2man for ${name}: ${err}")
  endif()
  execute_process(COMMAND gzip -9nf ${OUT}/${name}.1 RESULT_VARIABLE rc)
  if(NOT rc EQUAL 0)
    message(FATAL_ERROR "man pages: gzip ${name}.1 failed")
  endif()
endfunction()

page(voxtrack ${VT} --help "multi-camera 3D tracking of small moving objects by voxel voting")
foreach(n IN LISTS names)
  # help2man names a page after its program: a link called voxtrack-NAME to the binary.
  file(CREATE_LINK ${VT} ${OUT}/bin/voxtrack-${n} SYMBOLIC)
  page(voxtrack-${n} ${OUT}/bin/voxtrack-${n} "${n} --help" "${summary_${n}}")
endforeach()
file(REMOVE_RECURSE ${OUT}/bin)
file(WRITE ${OUT}/commands.txt "${names}\n")
