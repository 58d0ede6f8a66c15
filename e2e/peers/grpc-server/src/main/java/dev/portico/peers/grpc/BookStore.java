package dev.portico.peers.grpc;

import com.google.protobuf.Timestamp;
import dev.portico.peers.grpc.v1.Book;
import dev.portico.peers.grpc.v1.Genre;
import dev.portico.peers.grpc.v1.ShelfEvent;
import java.time.Instant;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.TreeMap;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.function.Consumer;
import java.util.function.UnaryOperator;

/**
 * The books, in memory, keyed by name (shelves/{shelf}/books/{book}), and the watchers of each shelf. Every change
 * and every new watch holds the store's lock, so a watcher gets the shelf's books at its start, then each change
 * once, in order.
 */
final class BookStore {
  private final TreeMap<String, Book> books = new TreeMap<>();
  private final Map<String, List<Consumer<ShelfEvent>>> watchers = new ConcurrentHashMap<>();
  private long nextId = 1;

  /** Shelf "shelves/1" with two books and "shelves/2" with one; fixed times, so answers can be compared. */
  static BookStore seeded() {
    BookStore store = new BookStore();
    store.put(Book.newBuilder()
        .setName("shelves/1/books/1")
        .setTitle("The Dispossessed")
        .setAuthor("Ursula K. Le Guin")
        .setPageCount(387)
        .setGenre(Genre.SCIENCE_FICTION)
        .addTags("anarchism")
        .addTags("classic")
        .setCreateTime(timestamp(Instant.parse("2024-01-02T03:04:05Z")))
        .setUpdateTime(timestamp(Instant.parse("2024-01-02T03:04:05Z")))
        .addEditions(Book.Edition.newBuilder().setPublisher("Harper & Row").setYear(1974).setIsbn(9780060125639L))
        .putLabels("language", "en")
        .setRating(4.5)
        .setAvailable(true)
        .build());
    store.put(Book.newBuilder()
        .setName("shelves/1/books/2")
        .setTitle("A Distant Mirror")
        .setAuthor("Barbara W. Tuchman")
        .setPageCount(677)
        .setGenre(Genre.HISTORY)
        .addTags("14th century")
        .setCreateTime(timestamp(Instant.parse("2024-02-03T04:05:06.789Z")))
        .setUpdateTime(timestamp(Instant.parse("2024-02-03T04:05:06.789Z")))
        .setRating(4.25)
        .build());
    store.put(Book.newBuilder()
        .setName("shelves/2/books/1")
        .setTitle("Leaves of Grass")
        .setAuthor("Walt Whitman")
        .setPageCount(145)
        .setGenre(Genre.POETRY)
        .setCreateTime(timestamp(Instant.parse("2024-03-04T05:06:07Z")))
        .setUpdateTime(timestamp(Instant.parse("2024-03-04T05:06:07Z")))
        .setAvailable(true)
        .build());
    return store;
  }

  static Timestamp timestamp(Instant at) {
    return Timestamp.newBuilder().setSeconds(at.getEpochSecond()).setNanos(at.getNano()).build();
  }

  /** "shelves/1" of "shelves/1/books/2". */
  static String shelfOf(String bookName) {
    int i = bookName.indexOf("/books/");
    return i < 0 ? bookName : bookName.substring(0, i);
  }

  synchronized Optional<Book> get(String name) {
    return Optional.ofNullable(books.get(name));
  }

  /** The shelf's books in name order. */
  synchronized List<Book> list(String shelf) {
    return new ArrayList<>(books.subMap(shelf + "/books/", shelf + "/books/\uffff").values());
  }

  /** A book id that no book of the shelf has. */
  synchronized String newId(String shelf) {
    while (books.containsKey(shelf + "/books/" + nextId)) nextId++;
    return Long.toString(nextId++);
  }

  /** Adds the book (its name set) unless the name is taken; empty when it is. */
  synchronized Optional<Book> create(Book book) {
    if (books.containsKey(book.getName())) return Optional.empty();
    put(book);
    notify(ShelfEvent.Kind.CREATED, book);
    return Optional.of(book);
  }

  /** Replaces the named book by change(book); empty when there is none of that name. */
  synchronized Optional<Book> update(String name, UnaryOperator<Book> change) {
    Book current = books.get(name);
    if (current == null) return Optional.empty();
    Book book = change.apply(current);
    put(book);
    notify(ShelfEvent.Kind.UPDATED, book);
    return Optional.of(book);
  }

  /** Removes every book of the shelf, telling the watchers one DELETED event each. */
  synchronized int purge(String shelf) {
    List<Book> gone = list(shelf);
    for (Book book : gone) {
      books.remove(book.getName());
      notify(ShelfEvent.Kind.DELETED, book);
    }
    return gone.size();
  }

  /** Calls watcher with an EXISTING event per book of the shelf, then with every change until unwatch. */
  synchronized void watch(String shelf, Consumer<ShelfEvent> watcher) {
    for (Book book : list(shelf)) watcher.accept(event(ShelfEvent.Kind.EXISTING, book));
    watchers.computeIfAbsent(shelf, s -> new CopyOnWriteArrayList<>()).add(watcher);
  }

  void unwatch(String shelf, Consumer<ShelfEvent> watcher) {
    List<Consumer<ShelfEvent>> list = watchers.get(shelf);
    if (list != null) list.remove(watcher);
  }

  private void put(Book book) {
    books.put(book.getName(), book);
  }

  private void notify(ShelfEvent.Kind kind, Book book) {
    List<Consumer<ShelfEvent>> list = watchers.get(shelfOf(book.getName()));
    if (list == null) return;
    ShelfEvent event = event(kind, book);
    for (Consumer<ShelfEvent> watcher : list) watcher.accept(event);
  }

  private static ShelfEvent event(ShelfEvent.Kind kind, Book book) {
    return ShelfEvent.newBuilder().setKind(kind).setBook(book).setTime(timestamp(Instant.now())).build();
  }
}
