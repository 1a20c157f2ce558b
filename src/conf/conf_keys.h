/*
 * conf_keys - the settings table, internal to src/conf.
 *
 * One table (conf_keys.c) is read by the parser (conf.c), by the manual
 * page tem.conf(5) (conf_man.c) and by the unit test, so the documented
 * keys, defaults and examples cannot drift from what the parser accepts.
 * Trust: none needed, constant data.
 */
#ifndef TEM_CONF_KEYS_H
#define TEM_CONF_KEYS_H

#include <stddef.h>

/* T_HOST: a DNS name; T_ADDR: a numeric IP; T_HOSTPORT: host[:port] or
 * [ipv6]:port; T_DNS: ip, ip:port or [ipv6]:port. The last three are
 * optional: an empty value means unset (NULL). */
enum conf_type { T_STR, T_PATH, T_BOOL, T_UINT, T_PORT, T_SIZE, T_QUOTA,
    T_DURATION, T_LISTEN, T_LEVEL, T_STRLIST, T_HOST, T_ADDR, T_HOSTPORT, T_DNS,
    T_MILTERS, T_MACTION, T_STSMODE, T_ACMECHAL, T_CIDRS,
    T_DURATION0,	/* a duration, or 0: off */
    T_STORAGE,		/* embedded or postgresql (enum conf_storage) */
    T_LEASE,		/* a duration from 5 s to 60 s (queue_lease_time) */
    T_NTYPES };	/* keep last: conf_type_name has a name for each type */

struct conf_key {
	const char	*name;
	enum conf_type	 type;
	size_t		 offset;	/* of the field in struct conf */
	const char	*def;		/* default as config text; NULL: unset */
	const char	*meaning;	/* one paragraph for tem.conf(5) */
	const char	*example;	/* a valid value, as config text */
	const char	*area;		/* heading it is listed under */
};

extern const struct conf_key conf_keys[];
extern const size_t conf_nkeys;

/* The type's name as tem.conf(5) writes it ("size", "duration" ...). */
const char *conf_type_name(enum conf_type t);

#endif
