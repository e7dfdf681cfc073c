/* SPDX-License-Identifier: MIT */
/* Answers of the transition target's functions, old and patched, shared by
 * the target and the payloads. */
#ifndef TRANSITION_FUNCS_H
#define TRANSITION_FUNCS_H
#define ANSWER_OLD 1
#define ANSWER_NEW 2
#define SLOW_OLD 1
#define SLOW_NEW 2
#define NAP_OLD 10
#define NAP_NEW 20
#define CHURN(x, v) ((x) * 3 + 1 + (v) * 1000003L)
#define SERVICE_TAG_OLD 1
#define SERVICE_TAG_NEW 2
#define TRIPLE_A_OLD 11
#define TRIPLE_B_OLD 12
#define TRIPLE_C_OLD 13
#define TRIPLE_NEW_BASE 100 /* new answers: 111, 112, 113 */
#endif
