/*
 * item.c: the names of outcomes, as webhook_logs stores them.
 */
#include "intake/item.h"

const char *
tr_outcome_name(enum tr_outcome o)
{
    switch (o) {
    case TR_OUT_SUCCESS:
        return "success";
    case TR_OUT_DUPLICATE:
        return "duplicate";
    case TR_OUT_SKIPPED:
        return "skipped";
    case TR_OUT_IGNORED:
        return "ignored";
    case TR_OUT_ERROR:
        return "error";
    }
    return "error";
}
