/* SPDX-License-Identifier: MIT */
/* Another library of the programs that map shlib: the payload calls it. */
const char *other_word(void)
{
	return "other";
}
