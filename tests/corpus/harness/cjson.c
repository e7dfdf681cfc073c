/* SPDX-License-Identifier: MIT */
/* Harness for cJSON (libcjson.so from the Debian source tree); modes:
 *   setvaluestring  CVE-2023-50472: cJSON_SetValuestring on a string item
 *                   whose valuestring is NULL (unpatched: strlen(NULL))
 *   insert-null     CVE-2023-50471: cJSON_InsertItemInArray(a, 0, NULL)
 *   long-number     CVE-2023-26819: a number of 70 digits (unpatched: cut
 *                   to the 63 that fit its stack buffer)
 *   trailing-comma  #800: "{\"a\":1," ending right before an unmapped page
 *                   (unpatched: reads one byte past the input) */
#include <cJSON.h> /* from the source tree (-I) */

#include "harness.h"

static void repro(const char *mode)
{
	if (!strcmp(mode, "setvaluestring")) {
		cJSON *s = cJSON_CreateString("abc");
		cJSON_free(s->valuestring);
		s->valuestring = NULL;
		char *r = cJSON_SetValuestring(s, "x");
		printf("%s\n", r ? "set" : "refused (NULL)");
	} else if (!strcmp(mode, "insert-null")) {
		cJSON *a = cJSON_CreateArray();
		cJSON_AddItemToArray(a, cJSON_CreateNumber(1));
		printf("%s\n", cJSON_InsertItemInArray(a, 0, NULL) ? "inserted" : "refused (false)");
	} else if (!strcmp(mode, "long-number")) {
		char num[80];
		memset(num, '0', 71);
		num[0] = '1';
		num[71] = '\0';
		cJSON *j = cJSON_Parse(num);
		printf("value %.3g\n", j ? cJSON_GetNumberValue(j) : -1.0);
	} else if (!strcmp(mode, "trailing-comma")) {
		static const char in[] = "{\"a\":1,";
		char *p = at_page_end(in, sizeof(in) - 1);
		cJSON *j = cJSON_ParseWithLength(p, sizeof(in) - 1);
		printf("%s\n", j ? "parsed" : "rejected");
	} else {
		printf("unknown mode %s\n", mode);
	}
}

static bool load_once(void)
{
	static const char doc[] = "{\"name\":\"xsplice\",\"n\":[1,2,3.5],\"ok\":true}";
	cJSON *j = cJSON_Parse(doc);
	if (!j)
		return false;
	char *out = cJSON_PrintUnformatted(j);
	bool same = out && !strcmp(out, doc);
	cJSON_free(out);
	cJSON_Delete(j);
	return same;
}
