# What `cmake --install` puts where, and the Debian package CPack makes of it
# (scripts/package.sh runs `cpack -G DEB`). The package holds the stripped `moat` binary,
# the documentation and examples, and the deploy/ manifests; its Depends line is computed by
# dpkg-shlibdeps from the libraries the binary links (LLVM is linked statically, so it is
# not among them).
include(GNUInstallDirs)
install(TARGETS moat RUNTIME DESTINATION ${CMAKE_INSTALL_BINDIR})
install(FILES README.md DESTINATION ${CMAKE_INSTALL_DOCDIR})
install(DIRECTORY docs/ DESTINATION ${CMAKE_INSTALL_DOCDIR} FILES_MATCHING PATTERN "*.md" PATTERN "*.svg")
install(DIRECTORY examples/ DESTINATION ${CMAKE_INSTALL_DOCDIR}/examples)
install(DIRECTORY deploy/ DESTINATION ${CMAKE_INSTALL_DATADIR}/moat/deploy FILES_MATCHING PATTERN "*.yaml")

set(CPACK_PACKAGE_NAME moat)
set(CPACK_PACKAGE_VENDOR "moat")
set(CPACK_PACKAGE_CONTACT "moat maintainers <moat@localhost>")
set(CPACK_PACKAGE_DESCRIPTION_SUMMARY "network isolation policies, proved with Z3 and enforced with eBPF")
set(CPACK_PACKAGE_DESCRIPTION
    "moat compiles network policies (its own language, Kubernetes NetworkPolicy, Cilium and Karpenter YAML) into one model, proves properties of them with Z3, compiles them to eBPF and enforces them on a node with `moat agent`.")
set(CPACK_PACKAGE_VERSION ${PROJECT_VERSION})
set(CPACK_STRIP_FILES ON)
set(CPACK_GENERATOR DEB)
set(CPACK_DEBIAN_FILE_NAME DEB-DEFAULT)   # moat_VERSION_amd64.deb
set(CPACK_DEBIAN_PACKAGE_SECTION net)
set(CPACK_DEBIAN_PACKAGE_PRIORITY optional)
# dpkg-shlibdeps maps each linked library to the package that owns it on the build machine:
# build on the release the package is for (Debian 12, as the image).
set(CPACK_DEBIAN_PACKAGE_SHLIBDEPS ON)
include(CPack)
