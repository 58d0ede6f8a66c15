package dev.portico.peers.grpc;

import com.google.protobuf.Any;
import com.google.protobuf.Message;
import com.google.rpc.BadRequest;
import com.google.rpc.Code;
import com.google.rpc.ErrorInfo;
import com.google.rpc.Status;
import io.grpc.StatusRuntimeException;
import io.grpc.protobuf.StatusProto;
import java.util.Map;

/** Failures as google.rpc.Status with details, sent in grpc-status-details-bin beside grpc-status. */
final class RichErrors {
  /** ErrorInfo.domain of every error of this server. */
  static final String DOMAIN = "library.peers.portico.dev";

  private RichErrors() {}

  static StatusRuntimeException withInfo(Code code, String message, String reason, Map<String, String> metadata) {
    ErrorInfo info = ErrorInfo.newBuilder().setReason(reason).setDomain(DOMAIN).putAllMetadata(metadata).build();
    return status(code, message, info);
  }

  /** INVALID_ARGUMENT with a BadRequest naming the field. */
  static StatusRuntimeException badField(String field, String description) {
    BadRequest bad = BadRequest.newBuilder()
        .addFieldViolations(BadRequest.FieldViolation.newBuilder().setField(field).setDescription(description))
        .build();
    return status(Code.INVALID_ARGUMENT, field + ": " + description, bad);
  }

  static StatusRuntimeException bookNotFound(String name) {
    return withInfo(Code.NOT_FOUND, "book " + name + " not found", "BOOK_NOT_FOUND", Map.of("name", name));
  }

  private static StatusRuntimeException status(Code code, String message, Message detail) {
    Status status = Status.newBuilder().setCode(code.getNumber()).setMessage(message).addDetails(Any.pack(detail)).build();
    return StatusProto.toStatusRuntimeException(status);
  }
}
