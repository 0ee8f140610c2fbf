package org.pgstrata.manifest;

import com.fasterxml.jackson.annotation.JsonCreator;
import com.fasterxml.jackson.annotation.JsonIgnore;
import com.fasterxml.jackson.annotation.JsonInclude;
import com.fasterxml.jackson.annotation.JsonProperty;
import com.fasterxml.jackson.databind.annotation.JsonDeserialize;
import com.fasterxml.jackson.databind.annotation.JsonSerialize;

/**
 * One file of the data directory as it was at backup time.
 *
 * <p>{@code size}, {@code mode} and {@code checksum} (XXH64) describe the file's whole content as
 * the backup read it, whatever way it is stored, so that a file rebuilt from several backups is
 * checked like any other. Where the content lives is {@code source}:
 * <ul>
 *   <li>{@code whole}: {@code object} holds the complete file (absent for an empty file);</li>
 *   <li>{@code unchanged}: identical to the file in backup {@code reference}, which is always a
 *       backup that stores it (whole or as pages), never another "unchanged"; {@code object} is
 *       that backup's object when it stores the file whole, so a restore needs no chain walk;</li>
 *   <li>{@code pages}: {@code object} holds the listed {@code blocks} (8 KiB each, ascending,
 *       numbered from the start of this file), to be laid over the file as backup
 *       {@code reference} has it, then cut to {@code size}; {@code pagesChecksum} is the XXH64
 *       of the object's content.</li>
 * </ul>
 */
public record FileEntry(String path, long size, String mode, String checksum, String source,
                        String reference, ObjectRef object,
                        @JsonInclude(JsonInclude.Include.NON_EMPTY) @JsonSerialize(using = BlockList.ArrayForm.class) BlockList blocks,
                        String pagesChecksum) {

    /**
     * The values that repeat on every entry (mode, source, the backup referred to) are shared:
     * as read from a manifest each would otherwise be a string of its own, a third of the memory
     * that 100,000 entries take.
     */
    public FileEntry {
        mode = mode == null ? null : mode.intern();
        source = source == null ? null : source.intern();
        reference = reference == null ? null : reference.intern();
    }

    /**
     * In JSON the blocks are {@code blocks}, an array of block numbers, or, when that is the
     * longer text, {@code blockBitmap} (see {@link BlockList}): a manifest with a bitmap has format
     * 4, which a pgstrata that knows only arrays refuses by its version (it ignores the field
     * it does not know) instead of reading a pages entry without blocks.
     */
    @JsonCreator
    static FileEntry fromJson(@JsonProperty("path") String path, @JsonProperty("size") long size, @JsonProperty("mode") String mode,
                              @JsonProperty("checksum") String checksum, @JsonProperty("source") String source,
                              @JsonProperty("reference") String reference, @JsonProperty("object") ObjectRef object,
                              @JsonProperty("blocks") @JsonDeserialize(using = BlockList.ArrayOnly.class) BlockList blocks,
                              @JsonProperty("blockBitmap") @JsonDeserialize(using = BlockList.BitmapOnly.class) BlockList blockBitmap,
                              @JsonProperty("pagesChecksum") String pagesChecksum) {
        if (blocks != null && blockBitmap != null) {
            throw new IllegalArgumentException("the entry of " + path + " has both blocks and blockBitmap");
        }
        if (PAGES.equals(source) && blocks == null && blockBitmap == null) {
            // null blocks mean "the whole file" to a restore: a page set read as that would be a wrong file
            throw new IllegalArgumentException("the pages entry of " + path + " lists no blocks");
        }
        return new FileEntry(path, size, mode, checksum, source, reference, object, blocks != null ? blocks : blockBitmap, pagesChecksum);
    }

    /** The blocks when JSON holds them as a bitmap, for the writer; null otherwise. */
    @JsonProperty("blockBitmap")
    @JsonInclude(JsonInclude.Include.NON_NULL)
    @JsonSerialize(using = BlockList.BitmapForm.class)
    BlockList blockBitmap() {
        return blocks != null && blocks.bitmapInJson() ? blocks : null;
    }

    /** Whether this entry's JSON needs a reader of manifest format 4 (a {@code blockBitmap}). */
    @JsonIgnore
    public boolean needsBitmapReader() {
        return blockBitmap() != null;
    }

    public static final String WHOLE = "whole";
    public static final String UNCHANGED = "unchanged";
    public static final String PAGES = "pages";

    public static FileEntry whole(String path, long size, String mode, String checksum, ObjectRef object) {
        return new FileEntry(path, size, mode, checksum, WHOLE, null, object, null, null);
    }

    public static FileEntry unchanged(String path, long size, String mode, String checksum, String reference, ObjectRef object) {
        return new FileEntry(path, size, mode, checksum, UNCHANGED, reference, object, null, null);
    }

    public static FileEntry pages(String path, long size, String mode, String checksum, String reference, ObjectRef object,
                                  BlockList blocks, String pagesChecksum) {
        return new FileEntry(path, size, mode, checksum, PAGES, reference, object, java.util.Objects.requireNonNull(blocks, "blocks"),
                pagesChecksum);
    }

    @JsonIgnore
    public boolean isWhole() {
        return WHOLE.equals(source);
    }

    @JsonIgnore
    public boolean isUnchanged() {
        return UNCHANGED.equals(source);
    }

    @JsonIgnore
    public boolean isPages() {
        return PAGES.equals(source);
    }

    /** The object this backup itself wrote for the file, or null (unchanged, or empty). */
    public ObjectRef ownObject(String backupId) {
        return object != null && backupId.equals(object.backup()) ? object : null;
    }
}
