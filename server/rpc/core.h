/*
 * core.h - methods that belong to the server itself: server.info.
 */
#ifndef SCH_RPC_CORE_H
#define SCH_RPC_CORE_H

/* Registers server.info. */
void rpc_core_init(void);

#endif
