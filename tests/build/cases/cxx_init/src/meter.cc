#include "meter.hh"
#include <stdexcept>
namespace calc {
// A static initialiser in the patched unit: runs once, in the target.
static const std::string unit = std::string("u") + std::to_string(7);

int Meter::read(int v) const
{
	return twice(v) + 1;
}

std::string label(int v)
{
	if (v > 40)
		throw std::range_error("over " + std::to_string(v));
	return unit + ":" + std::to_string(v);
}
}
