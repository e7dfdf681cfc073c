__thread int other_tls = 100;
