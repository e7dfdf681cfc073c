#!/bin/sh
# taglib as debian/rules builds it: DEB_BUILD_MAINT_OPTIONS="hardening=+all,
# optimize=+lto", DEB_C(XX)FLAGS_MAINT_APPEND="-fvisibility=hidden
# -fvisibility-inlines-hidden -DNDEBUG", dh_auto_configure --buildsystem=cmake
# --builddirectory=builddir (debhelper 13, bookworm) with the package's
# cmake options (BUILD_TESTING=ON: the test runner is built too, as in the
# package build), then make in builddir. xsplice-build's wrapper adds
# -fno-lto (docs/build.md): the -flto of optimize=+lto is overridden in the
# running build and the payload build alike.
set -eu
export DEB_BUILD_MAINT_OPTIONS="hardening=+all, optimize=+lto"
export DEB_CFLAGS_MAINT_APPEND="-fvisibility=hidden -fvisibility-inlines-hidden -DNDEBUG"
export DEB_CXXFLAGS_MAINT_APPEND="-fvisibility=hidden -fvisibility-inlines-hidden -DNDEBUG"
CFLAGS=$(dpkg-buildflags --get CFLAGS)
CXXFLAGS=$(dpkg-buildflags --get CXXFLAGS)
CPPFLAGS=$(dpkg-buildflags --get CPPFLAGS)
LDFLAGS=$(dpkg-buildflags --get LDFLAGS)
export CFLAGS CXXFLAGS CPPFLAGS LDFLAGS
mkdir -p builddir
cd builddir
[ -f Makefile ] || cmake .. -DCMAKE_INSTALL_PREFIX=/usr -DCMAKE_BUILD_TYPE=None \
	-DCMAKE_INSTALL_SYSCONFDIR=/etc -DCMAKE_INSTALL_LOCALSTATEDIR=/var \
	-DCMAKE_EXPORT_NO_PACKAGE_REGISTRY=ON -DCMAKE_FIND_USE_PACKAGE_REGISTRY=OFF \
	-DCMAKE_FIND_PACKAGE_NO_PACKAGE_REGISTRY=ON -DFETCHCONTENT_FULLY_DISCONNECTED=ON \
	-DCMAKE_INSTALL_RUNSTATEDIR=/run -DCMAKE_SKIP_INSTALL_ALL_DEPENDENCY=ON \
	"-GUnix Makefiles" -DCMAKE_VERBOSE_MAKEFILE=ON \
	-DCMAKE_INSTALL_LIBDIR=lib/x86_64-linux-gnu \
	-DCMAKE_USE_RELATIVE_PATHS=ON -DWITH_ASF=ON -DWITH_MP4=ON \
	-DLIB_INSTALL_DIR:PATH=/usr/lib/x86_64-linux-gnu -DBUILD_SHARED_LIBS=ON \
	-DBUILD_TESTING=ON \
	>cmake.log 2>&1 || { cat cmake.log; exit 1; }
make -j"${MAKE_JOBS:-2}"
