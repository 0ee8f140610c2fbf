package org.pgstrata.manifest;

import java.util.List;

/**
 * One file of the data directory as it was at backup time.
 *
 * <p>{@code size}, {@code mode} and {@code checksum} (XXH64) describe the file's whole content, whatever
 * way it is stored, so that a file rebuilt from several backups is checked like any other.
 * Where the content lives is {@code source}:
 * <ul>
 *   <li>{@code whole}: {@code object} holds the complete file (absent for an empty file);</li>
 *   <li>{@code unchanged}: identical to the file in backup {@code reference}; {@code object}
 *       points at the object that holds it there, so a restore needs no chain walk;</li>
 *   <li>{@code pages}: {@code object} holds the listed {@code blocks} (8 KiB each, in order),
 *       to be laid over the file as backup {@code reference} has it, then cut to {@code size}.</li>
 * </ul>
 */
public record FileEntry(String path, long size, String mode, String checksum, String source,
                        String reference, ObjectRef object, List<Long> blocks) {

    public static final String WHOLE = "whole";
    public static final String UNCHANGED = "unchanged";
    public static final String PAGES = "pages";

    public static FileEntry whole(String path, long size, String mode, String checksum, ObjectRef object) {
        return new FileEntry(path, size, mode, checksum, WHOLE, null, object, null);
    }
}
