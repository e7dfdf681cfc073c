#include <xsplice/livepatch.h>
#include "calc.h"

/* The patch names itself; the command line may override a key. */
LIVEPATCH_MODINFO(description, "from the patch");
LIVEPATCH_MODINFO(version, "7");

int compute(int x)
{
	return x * 3 + 1;
}

int other(int x)
{
	return x - 7;
}
