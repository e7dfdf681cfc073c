#include "config.h"
#ifdef HAVE_NO_SUCH_HEADER
#include <xsplice_no_such_header.h>
static no_such_t unused; /* its type: the build fails without the header */
#endif
#include "calc.h"

int compute(int x)
{
	return x * 2 + 1;
}

int other(int x)
{
	return x - 7;
}
