#ifndef METER_HH
#define METER_HH
#include <string>
namespace calc {
// An inline member function in a header: emitted in a COMDAT group by every
// unit that does not inline it.
struct Meter {
	explicit Meter(int s) : scale(s) {}
	int read(int v) const;              // meter.cc
	__attribute__((noinline)) int twice(int v) const { return 2 * v * scale; }
	int scale;
};
std::string label(int v);               // meter.cc: throws for v > limit
}
#endif
