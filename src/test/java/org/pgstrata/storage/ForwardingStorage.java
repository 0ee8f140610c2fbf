package org.pgstrata.storage;

import java.io.IOException;
import java.io.InputStream;
import java.util.List;

/** A Storage that passes every call to another: tests override the calls they watch or disturb. */
public abstract class ForwardingStorage implements Storage {
    protected final Storage inner;

    protected ForwardingStorage(Storage inner) {
        this.inner = inner;
    }

    @Override
    public ObjectWriter create(String key) throws IOException {
        return inner.create(key);
    }

    @Override
    public InputStream get(String key) throws IOException {
        return inner.get(key);
    }

    @Override
    public InputStream get(String key, long offset, long length) throws IOException {
        return inner.get(key, offset, length);
    }

    @Override
    public long size(String key) throws IOException {
        return inner.size(key);
    }

    @Override
    public boolean exists(String key) throws IOException {
        return inner.exists(key);
    }

    @Override
    public List<String> list(String prefix) throws IOException {
        return inner.list(prefix);
    }

    @Override
    public void delete(String key) throws IOException {
        inner.delete(key);
    }

    @Override
    public void deletePrefix(String prefix) throws IOException {
        inner.deletePrefix(prefix);
    }

    @Override
    public RepositoryLock lock(String holder) throws IOException {
        return inner.lock(holder);
    }

    @Override
    public String describe() {
        return inner.describe();
    }

    @Override
    public void close() throws IOException {
        inner.close();
    }
}
