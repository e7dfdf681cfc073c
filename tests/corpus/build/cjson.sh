#!/bin/sh
# cJSON as debian/rules builds it: `dh $@ --buildsystem=cmake` with
# DEB_BUILD_MAINT_OPTIONS=hardening=+all, i.e. dh_auto_configure's cmake
# command line (debhelper 13, bookworm) and dpkg-buildflags, then make in
# obj-x86_64-linux-gnu.
set -eu
export DEB_BUILD_MAINT_OPTIONS=hardening=+all
CFLAGS=$(dpkg-buildflags --get CFLAGS)
CPPFLAGS=$(dpkg-buildflags --get CPPFLAGS)
LDFLAGS=$(dpkg-buildflags --get LDFLAGS)
export CFLAGS CPPFLAGS LDFLAGS
mkdir -p obj-x86_64-linux-gnu
cd obj-x86_64-linux-gnu
[ -f Makefile ] || cmake .. -DCMAKE_INSTALL_PREFIX=/usr -DCMAKE_BUILD_TYPE=None \
	-DCMAKE_INSTALL_SYSCONFDIR=/etc -DCMAKE_INSTALL_LOCALSTATEDIR=/var \
	-DCMAKE_EXPORT_NO_PACKAGE_REGISTRY=ON -DCMAKE_FIND_USE_PACKAGE_REGISTRY=OFF \
	-DCMAKE_FIND_PACKAGE_NO_PACKAGE_REGISTRY=ON -DFETCHCONTENT_FULLY_DISCONNECTED=ON \
	-DCMAKE_INSTALL_RUNSTATEDIR=/run -DCMAKE_SKIP_INSTALL_ALL_DEPENDENCY=ON \
	"-GUnix Makefiles" -DCMAKE_VERBOSE_MAKEFILE=ON \
	-DCMAKE_INSTALL_LIBDIR=lib/x86_64-linux-gnu >cmake.log 2>&1 || { cat cmake.log; exit 1; }
make -j"${MAKE_JOBS:-2}"
