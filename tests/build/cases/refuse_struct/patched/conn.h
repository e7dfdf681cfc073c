/* A login session, as the running program has it. */
struct conn {
	char user[16];
	char password[16];
	unsigned attempts;
	unsigned failures; /* the upstream fix: consecutive failed logins */
};
