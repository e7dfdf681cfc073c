#include <xsplice-no-such-header.h>
int probe;
