#!/bin/sh
# libebml as debian/rules builds it: `dh $@` (debhelper 13, bookworm: the
# cmake build system, no DEB_BUILD_MAINT_OPTIONS, so dpkg-buildflags'
# defaults) with `dh_auto_configure -- -DBUILD_SHARED_LIBS=ON`, i.e.
# dh_auto_configure's cmake command line in obj-x86_64-linux-gnu, then make.
set -eu
CFLAGS=$(dpkg-buildflags --get CFLAGS)
CXXFLAGS=$(dpkg-buildflags --get CXXFLAGS)
CPPFLAGS=$(dpkg-buildflags --get CPPFLAGS)
LDFLAGS=$(dpkg-buildflags --get LDFLAGS)
export CFLAGS CXXFLAGS CPPFLAGS LDFLAGS
mkdir -p obj-x86_64-linux-gnu
cd obj-x86_64-linux-gnu
[ -f Makefile ] || cmake .. -DCMAKE_INSTALL_PREFIX=/usr -DCMAKE_BUILD_TYPE=None \
	-DCMAKE_INSTALL_SYSCONFDIR=/etc -DCMAKE_INSTALL_LOCALSTATEDIR=/var \
	-DCMAKE_EXPORT_NO_PACKAGE_REGISTRY=ON -DCMAKE_FIND_USE_PACKAGE_REGISTRY=OFF \
	-DCMAKE_FIND_PACKAGE_NO_PACKAGE_REGISTRY=ON -DFETCHCONTENT_FULLY_DISCONNECTED=ON \
	-DCMAKE_INSTALL_RUNSTATEDIR=/run -DCMAKE_SKIP_INSTALL_ALL_DEPENDENCY=ON \
	"-GUnix Makefiles" -DCMAKE_VERBOSE_MAKEFILE=ON \
	-DCMAKE_INSTALL_LIBDIR=lib/x86_64-linux-gnu -DBUILD_SHARED_LIBS=ON \
	>cmake.log 2>&1 || { cat cmake.log; exit 1; }
make -j"${MAKE_JOBS:-2}"
