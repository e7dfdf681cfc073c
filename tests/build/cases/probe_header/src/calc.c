#include "config.h"

/* Built as configured: the header does not exist. An original build that
 * believed it does (a compiler wrapper turning the probe's missing header
 * into a warning) is another program than the running one. */
const char *line(void)
{
#ifdef HAVE_NO_SUCH_HEADER
	return "value=1 (configured with a header that does not exist)";
#else
	return "value=1";
#endif
}
