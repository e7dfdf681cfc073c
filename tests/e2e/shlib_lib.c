/* SPDX-License-Identifier: MIT */
/* A library several programs map (shlib_user_a/b link it, shlib_dl dlopens
 * it): shlib.livepatch replaces shlib_report with code that calls this
 * file's static function, reads its static data, and calls the executable
 * and another library (libs.sh). */
static int shlib_counter = 40; /* static data; shlib_bump changes it */

__attribute__((noipa, used)) static int shlib_twice(int x)
{
	return 2 * x + 1;
}

void shlib_bump(void)
{
	shlib_counter++;
}

int shlib_compute(int x)
{
	return shlib_twice(x) + shlib_counter;
}

__attribute__((noinline)) const char *shlib_report(void)
{
	__asm__ volatile("nop; nop; nop; nop; nop; nop; nop; nop; nop; nop; nop; nop");
	return "original";
}
