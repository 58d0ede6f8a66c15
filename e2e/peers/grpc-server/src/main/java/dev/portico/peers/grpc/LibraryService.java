package dev.portico.peers.grpc;

import com.google.protobuf.Empty;
import com.google.protobuf.FieldMask;
import com.google.protobuf.util.FieldMaskUtil;
import com.google.rpc.Code;
import dev.portico.peers.grpc.v1.Book;
import dev.portico.peers.grpc.v1.CreateBookRequest;
import dev.portico.peers.grpc.v1.FailRequest;
import dev.portico.peers.grpc.v1.GetBookRequest;
import dev.portico.peers.grpc.v1.GetShelfStatsRequest;
import dev.portico.peers.grpc.v1.GetShelfStatsResponse;
import dev.portico.peers.grpc.v1.LibraryGrpc;
import dev.portico.peers.grpc.v1.ListBooksRequest;
import dev.portico.peers.grpc.v1.ListBooksResponse;
import dev.portico.peers.grpc.v1.PurgeShelfRequest;
import dev.portico.peers.grpc.v1.ShelfEvent;
import dev.portico.peers.grpc.v1.ShelfStats;
import dev.portico.peers.grpc.v1.UpdateBookRequest;
import dev.portico.peers.grpc.v1.WatchShelfRequest;
import io.grpc.stub.ServerCallStreamObserver;
import io.grpc.stub.StreamObserver;
import java.time.Instant;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Set;
import java.util.TreeMap;
import java.util.function.Consumer;
import java.util.regex.Pattern;

/**
 * portico.java.v1.Library over a {@link BookStore}. Its contract is written in library.proto. Failures are thrown as
 * StatusRuntimeException; TransmitStatusRuntimeExceptionInterceptor (installed in main) sends them as the status.
 */
final class LibraryService extends LibraryGrpc.LibraryImplBase {
  private static final Pattern SHELF = Pattern.compile("shelves/[^/]+");
  private static final Pattern BOOK = Pattern.compile("shelves/[^/]+/books/[^/]+");
  private static final Pattern BOOK_ID = Pattern.compile("[a-z0-9][a-z0-9-]{0,62}");
  /** What UpdateBook may change; an empty update_mask means all of them. */
  private static final List<String> SETTABLE =
      List.of("title", "author", "page_count", "genre", "tags", "editions", "labels", "rating", "available");
  private static final FieldMaskUtil.MergeOptions REPLACE = new FieldMaskUtil.MergeOptions()
      .setReplaceMessageFields(true)
      .setReplaceRepeatedFields(true)
      .setReplacePrimitiveFields(true);

  private final BookStore store;

  LibraryService(BookStore store) {
    this.store = store;
  }

  @Override
  public void getBook(GetBookRequest req, StreamObserver<Book> out) {
    String name = req.getName();
    requireMatch("name", name, BOOK, "shelves/{shelf}/books/{book}");
    reply(out, store.get(name).orElseThrow(() -> RichErrors.bookNotFound(name)));
  }

  @Override
  public void createBook(CreateBookRequest req, StreamObserver<Book> out) {
    String parent = req.getParent();
    requireMatch("parent", parent, SHELF, "shelves/{shelf}");
    if (!req.getBookId().isEmpty()) requireMatch("book_id", req.getBookId(), BOOK_ID, "[a-z0-9][a-z0-9-]{0,62}");
    if (req.getBook().getTitle().isEmpty()) throw RichErrors.badField("book.title", "is required");
    String id = req.getBookId().isEmpty() ? store.newId(parent) : req.getBookId();
    String name = parent + "/books/" + id;
    var now = BookStore.timestamp(Instant.now());
    Book book = req.getBook().toBuilder().setName(name).setCreateTime(now).setUpdateTime(now).build();
    reply(out, store.create(book).orElseThrow(() -> RichErrors.withInfo(
        Code.ALREADY_EXISTS, "book " + name + " already exists", "BOOK_ALREADY_EXISTS", Map.of("name", name))));
  }

  @Override
  public void listBooks(ListBooksRequest req, StreamObserver<ListBooksResponse> out) {
    requireMatch("parent", req.getParent(), SHELF, "shelves/{shelf}");
    if (req.getPageSize() < 0) throw RichErrors.badField("page_size", "must not be negative");
    String filter = req.getFilter().toLowerCase(Locale.ROOT);
    List<Book> found = store.list(req.getParent()).stream()
        .filter(b -> b.getTitle().toLowerCase(Locale.ROOT).contains(filter)
            || b.getAuthor().toLowerCase(Locale.ROOT).contains(filter))
        .toList();
    int from = pageStart(req.getPageToken(), found.size());
    int to = req.getPageSize() == 0 ? found.size() : Math.min(found.size(), from + req.getPageSize());
    reply(out, ListBooksResponse.newBuilder()
        .addAllBooks(found.subList(from, to))
        .setNextPageToken(to < found.size() ? Integer.toString(to) : "")
        .setTotalSize(found.size())
        .build());
  }

  @Override
  public void updateBook(UpdateBookRequest req, StreamObserver<Book> out) {
    String name = req.getBook().getName();
    requireMatch("book.name", name, BOOK, "shelves/{shelf}/books/{book}");
    List<String> paths = req.getUpdateMask().getPathsCount() == 0 ? SETTABLE : req.getUpdateMask().getPathsList();
    for (String path : paths) {
      if (!SETTABLE.contains(path)) {
        throw RichErrors.badField("update_mask", "cannot update \"" + path + "\"; settable: " + String.join(", ", SETTABLE));
      }
    }
    FieldMask mask = FieldMask.newBuilder().addAllPaths(paths).build();
    Book updated = store.update(name, current -> {
      Book.Builder next = current.toBuilder();
      FieldMaskUtil.merge(mask, req.getBook(), next, REPLACE);
      return next.setUpdateTime(BookStore.timestamp(Instant.now())).build();
    }).orElseThrow(() -> RichErrors.bookNotFound(name));
    reply(out, updated);
  }

  @Override
  public void watchShelf(WatchShelfRequest req, StreamObserver<ShelfEvent> out) {
    String shelf = req.getShelf();
    requireMatch("shelf", shelf, SHELF, "shelves/{shelf}");
    if (req.getMaxEvents() < 0) throw RichErrors.badField("max_events", "must not be negative");
    ShelfWatch watch = new ShelfWatch((ServerCallStreamObserver<ShelfEvent>) out, req.getMaxEvents(), store, shelf);
    store.watch(shelf, watch);
    // The shelf's EXISTING events may have been all it asked for.
    if (watch.isDone()) store.unwatch(shelf, watch);
  }

  @Override
  public void getShelfStats(GetShelfStatsRequest req, StreamObserver<GetShelfStatsResponse> out) {
    requireMatch("shelf", req.getShelf(), SHELF, "shelves/{shelf}");
    List<Book> books = store.list(req.getShelf());
    Map<String, Long> perGenre = new TreeMap<>();
    for (Book b : books) perGenre.merge(b.getGenre().name(), 1L, Long::sum);
    ShelfStats stats = ShelfStats.newBuilder()
        .setBookCount(books.size())
        .setTotalPages(books.stream().mapToLong(Book::getPageCount).sum())
        .putAllBooksPerGenre(perGenre)
        .build();
    reply(out, GetShelfStatsResponse.newBuilder()
        .setStats(stats)
        .setComputedAt(BookStore.timestamp(Instant.now()))
        .build());
  }

  @Override
  public void purgeShelf(PurgeShelfRequest req, StreamObserver<Empty> out) {
    requireMatch("shelf", req.getShelf(), SHELF, "shelves/{shelf}");
    store.purge(req.getShelf());
    reply(out, Empty.getDefaultInstance());
  }

  @Override
  public void fail(FailRequest req, StreamObserver<Empty> out) {
    Code code = req.getCode() > 0 ? Code.forNumber(req.getCode()) : null;
    if (code == null) throw RichErrors.badField("code", "must be a google.rpc.Code from 1 to 16");
    String message = req.getMessage().isEmpty() ? "failure requested with code " + code.name() : req.getMessage();
    throw RichErrors.withInfo(code, message, "REQUESTED_FAILURE", Map.of("code", code.name()));
  }

  private static <T> void reply(StreamObserver<T> out, T value) {
    out.onNext(value);
    out.onCompleted();
  }

  private static void requireMatch(String field, String value, Pattern pattern, String shape) {
    if (!pattern.matcher(value).matches()) {
      throw RichErrors.badField(field, "must be " + shape + ", got \"" + value + "\"");
    }
  }

  /** The offset a page token stands for: "" is 0, otherwise a decimal offset this server handed out. */
  private static int pageStart(String token, int size) {
    if (token.isEmpty()) return 0;
    try {
      int from = Integer.parseInt(token);
      if (from >= 0 && from <= size) return from;
    } catch (NumberFormatException e) {
      // falls through to the error below
    }
    throw RichErrors.badField("page_token", "is not a token this server handed out");
  }

  /** One WatchShelf call: sends events in order until max events were sent or the client cancelled. */
  private static final class ShelfWatch implements Consumer<ShelfEvent> {
    private final ServerCallStreamObserver<ShelfEvent> call;
    private final int maxEvents;
    private final BookStore store;
    private final String shelf;
    private int sent;
    private boolean done;

    ShelfWatch(ServerCallStreamObserver<ShelfEvent> call, int maxEvents, BookStore store, String shelf) {
      this.call = call;
      this.maxEvents = maxEvents;
      this.store = store;
      this.shelf = shelf;
      // Set before the first message, as grpc-java requires.
      call.setOnCancelHandler(() -> finish(false));
    }

    @Override
    public synchronized void accept(ShelfEvent event) {
      if (done) return;
      call.onNext(event);
      sent++;
      if (maxEvents > 0 && sent >= maxEvents) finish(true);
    }

    synchronized boolean isDone() {
      return done;
    }

    private synchronized void finish(boolean complete) {
      if (done) return;
      done = true;
      store.unwatch(shelf, this);
      if (complete) call.onCompleted();
    }
  }
}
