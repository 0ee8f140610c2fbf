package org.pgstrata.api;

/**
 * What {@code expire} keeps. Each rule is optional (null: not given); at least one is required,
 * and a backup that any given rule keeps stays.
 *
 * @param retainFull    keep this many newest physical full backups and every backup newer than the oldest of them
 * @param retainDays    keep every physical backup that stopped within this many days, and the newest one before them
 * @param retainLogical keep this many newest logical fulls of each database, with their differentials
 * @param dryRun        say what would be removed, and remove nothing
 */
public record ExpireRequest(String repo, Integer retainFull, Integer retainDays, Integer retainLogical, boolean dryRun) {
    public ExpireRequest {
        if (retainFull == null && retainDays == null && retainLogical == null) {
            throw new PgstrataException(ErrorCode.USAGE, "expire needs a retention rule, and none was given",
                    "pass --retain-full N (keep the N newest fulls), --retain-days D or --retain-logical N; see 'pgstrata expire --help'");
        }
        atLeastOne("--retain-full", retainFull, "N newest full backups");
        atLeastOne("--retain-days", retainDays, "backups of the last D days");
        atLeastOne("--retain-logical", retainLogical, "N newest logical fulls");
    }

    private static void atLeastOne(String option, Integer value, String what) {
        if (value != null && value < 1) {
            throw new PgstrataException(ErrorCode.USAGE, option + " must be at least 1, not " + value,
                    "it keeps the " + what + "; to remove one backup use 'pgstrata delete --backup ID'");
        }
    }

    /** Whether physical backups (and with them the WAL archive) are expired at all. */
    public boolean physical() {
        return retainFull != null || retainDays != null;
    }
}
