#ifndef METER_HH
#define METER_HH
#include <string>
// twice() is noipa: GCC keeps the one out-of-line weak copy per unit
// (COMDAT) instead of a local .isra clone, as for larger inline functions.
namespace calc {
// An inline member function in a header: emitted in a COMDAT group by every
// unit that does not inline it.
struct Meter {
	explicit Meter(int s) : scale(s) {}
	int read(int v) const;              // meter.cc
	__attribute__((noipa)) int twice(int v) const { return 2 * v * scale; }
	int half(int v) const { return v / 2 + scale * 0; }
	int scale;
};
std::string label(int v);               // meter.cc: throws for v > limit
}
#endif
