/*
 * err.h - the project-wide error codes.
 *
 * Functions return int: 0 on success, a negative SCH_E* value on failure.
 * JSON-RPC codes are negative too and pass through unchanged, so a domain
 * handler can return RPC_E_FORBIDDEN directly (see rpc/rpc.h).
 */
#ifndef SCH_ERR_H
#define SCH_ERR_H

enum sch_err {
	SCH_OK = 0,
	SCH_ENOMEM = -1,   /* allocation failed (most paths abort instead) */
	SCH_EIO = -2,      /* file or socket I/O failed */
	SCH_EDB = -3,      /* the database refused or failed */
	SCH_EINVAL = -4,   /* bad input */
	SCH_ENOTFOUND = -5,
	SCH_ECONFLICT = -6,
	SCH_EBUSY = -7,    /* database locked past the busy timeout */
	SCH_EFULL = -8,    /* queue or disk full */
	SCH_ETOONEW = -9,  /* database migrated by a newer scholia */
	SCH_ECORRUPT = -10 /* database file is not a usable database */
};

#endif
