/* src/store/routing.h — where an ingested event goes (src/store/routing.c).
 * Private to src/store/.
 */
#ifndef HS_STORE_ROUTING_H
#define HS_STORE_ROUTING_H

#include "store/backend.h"

/* Drop every cached route set (writer thread; src/store/writer.c calls it
 * after every op with a savepoint and with a failed group). */
void hs__routes_clear(hs_store *s);

#endif
