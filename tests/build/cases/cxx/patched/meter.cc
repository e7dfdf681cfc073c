#include "meter.hh"
#include <stdexcept>
namespace calc {
// A static initialiser in the patched unit: runs once, in the target.
static const std::string unit = std::string("u") + std::to_string(7);

int Meter::read(int v) const
{
	return twice(v) + 2;
}

std::string label(int v)
{
	// The fix: a caught exception inside the patched function (its
	// .gcc_except_table and .eh_frame must come with it), and one that
	// leaves it for the caller's catch in the old code.
	try {
		if (v > 40)
			throw std::range_error("over " + std::to_string(v));
	} catch (const std::range_error &e) {
		if (v < 45)
			return unit + ":clamped";
		throw;
	}
	return unit + ":" + std::to_string(v);
}
}
