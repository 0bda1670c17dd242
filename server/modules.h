/*
 * modules.h - the list of domain modules, initialised once at start-up.
 */
#ifndef SCH_MODULES_H
#define SCH_MODULES_H

/* Registers every module's methods, HTTP routes and hooks. Idempotent. */
void modules_init(void);

#endif
