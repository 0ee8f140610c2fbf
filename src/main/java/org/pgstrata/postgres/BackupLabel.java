package org.pgstrata.postgres;


/** The fields of a backup_label file that pgstrata reads. */
public record BackupLabel(Lsn startLsn, Lsn checkpointLsn, int timeline) {

    public static BackupLabel parse(String text) {
        Lsn start = null;
        Lsn checkpoint = null;
        int tli = 1;
        for (String line : text.split("\n")) {
            if (line.startsWith("START WAL LOCATION:")) {
                start = Lsn.parse(line.substring("START WAL LOCATION:".length()).trim().split(" ")[0]);
            } else if (line.startsWith("CHECKPOINT LOCATION:")) {
                checkpoint = Lsn.parse(line.substring("CHECKPOINT LOCATION:".length()).trim());
            } else if (line.startsWith("START TIMELINE:")) {
                tli = Integer.parseInt(line.substring("START TIMELINE:".length()).trim());
            }
        }
        if (start == null) {
            throw new IllegalArgumentException("backup_label has no START WAL LOCATION line");
        }
        return new BackupLabel(start, checkpoint, tli);
    }
}
