#include <cstdio>
#include <cstdlib>
#include <stdexcept>
#include <unistd.h>
#include "meter.hh"

// label() throws through the patched code; the catch is in the old code.
static std::string line()
{
	calc::Meter m(3);
	std::string s = "read=" + std::to_string(m.read(5)) + " twice=" + std::to_string(m.twice(2)) + " ";
	for (int v : { 7, 20 }) {
		try {
			s += calc::label(m.read(v));
		} catch (const std::range_error &e) {
			s += std::string("caught ") + e.what();
		}
		s += " ";
	}
	return s;
}

int main(int argc, char **argv)
{
	int n = argc > 1 ? atoi(argv[1]) : -1;
	for (int i = 0; n < 0 || i < n; i++) {
		printf("%s\n", line().c_str());
		fflush(stdout);
		if (n < 0 || i + 1 < n)
			usleep(100000);
	}
	return 0;
}
