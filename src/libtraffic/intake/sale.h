/*
 * sale.h: one delivery written in one transaction.
 *
 * A delivery (one webhook request, or a replayed one) is a list of items: a
 * webhook_logs row per lead seen (or one for a body without leads), and for
 * a sale the sale itself, its dashboard copy, its 'won' event, its outbox
 * rows (one per configured chat) and, on the unified endpoint, its
 * referral conversion.  A UNIQUE lead_id decides duplicates (ON CONFLICT
 * DO NOTHING), not a prior SELECT.  Each sale is one prepared statement
 * (statements/sale.sql); its messages are sent by the sidecar, never by the
 * worker that stored it.
 *
 * A lead whose sale is stored already, and any other lead event of a lead
 * that may have one (another status, a deletion), goes through
 * lead_event.sql instead: its sale follows it (a new price, a reversal, a
 * restoration; sql/functions/traffic_sale_apply.sql), unless the event is older
 * than what the sale knows.
 */
#ifndef TR_SALE_H
#define TR_SALE_H

#include <stddef.h>
#include <stdint.h>

#include "base/err.h"
#include "base/chats.h"
#include "intake/item.h"

struct tr_config;
struct tr_store;

/* What the sale statement needs besides the delivery, fixed at start. */
struct tr_sale {
    struct tr_store *store;
    const struct tr_config *cfg;
    struct tr_chat_lists chats;
    int notify;  /* a bot token and chats: messages queued */
    int enrich;  /* new sales wait for the AmoCRM API */
    int replies; /* reversals and restorations are replied to */
};

/* Fills s for cfg and store (both kept, not owned). */
void tr_sale_init(struct tr_sale *s, const struct tr_config *cfg,
                  struct tr_store *store);

/*
 * Writes d in one transaction and sets each sale item's outcome to
 * TR_OUT_SUCCESS or TR_OUT_DUPLICATE; a new sale's messages wait in the
 * outbox for the sidecar.  Items that follow a stored
 * sale get their outcome and change from the database.  A connection that broke
 * is re-established and the delivery retried once.  TR_EDBDOWN / TR_EDB
 * (nothing is stored); TR_EREFUSED when the database refuses the data
 * itself (a constraint, a value out of range): it would every time.
 */
enum tr_err tr_sale_save(struct tr_sale *s, struct tr_received *d, char *msg,
                         size_t msgsz);

/*
 * Writes a sale of a lead no deal has (the process's negative pid) the
 * way a webhook to source would, reads it back from both tables and its log
 * row, and rolls it all back: whether this role may write and read a sale
 * (rights, row level security, triggers, constraints).  TR_OK, or TR_EDB /
 * TR_EDBDOWN with the reason in msg.
 */
enum tr_err tr_sale_probe(struct tr_sale *s, const char *source, char *msg,
                          size_t msgsz);

#endif
