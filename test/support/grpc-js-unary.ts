/**
 * One unary call with @grpc/grpc-js, a gRPC client this project did not write: the method path is
 * spelled out and messages are (de)serialized with protobuf-es `toBinary` / `fromBinary` of the
 * generated schemas, so the wire format is checked against a third-party implementation. And the
 * start of a server stream, the same way.
 */
import {
  create,
  type DescMessage,
  fromBinary,
  type MessageInitShape,
  type MessageShape,
  toBinary,
} from "@bufbuild/protobuf";
import * as grpc from "@grpc/grpc-js";

export function grpcJsUnary<I extends DescMessage, O extends DescMessage>(
  client: grpc.Client,
  path: string,
  schemas: { input: I; output: O },
  request: MessageInitShape<I>,
  metadata: Record<string, string> = {},
): Promise<MessageShape<O>> {
  const grpcMetadata = new grpc.Metadata();
  for (const [key, value] of Object.entries(metadata)) grpcMetadata.set(key, value);
  return new Promise((resolve, reject) => {
    client.makeUnaryRequest(
      path,
      (message: MessageShape<I>) => Buffer.from(toBinary(schemas.input, message)),
      (bytes: Buffer) => fromBinary(schemas.output, bytes),
      create(schemas.input, request),
      grpcMetadata,
      { deadline: Date.now() + 10_000 },
      (error, response) => (error ? reject(error) : resolve(response as MessageShape<O>)),
    );
  });
}

/**
 * The first message of a server stream with @grpc/grpc-js, after which the call is cancelled;
 * rejects with the status the stream ends with when it ends before one.
 */
export function grpcJsFirstStreamed<I extends DescMessage, O extends DescMessage>(
  client: grpc.Client,
  path: string,
  schemas: { input: I; output: O },
  request: MessageInitShape<I>,
  metadata: Record<string, string> = {},
): Promise<MessageShape<O>> {
  const grpcMetadata = new grpc.Metadata();
  for (const [key, value] of Object.entries(metadata)) grpcMetadata.set(key, value);
  return new Promise((resolve, reject) => {
    const call = client.makeServerStreamRequest(
      path,
      (message: MessageShape<I>) => Buffer.from(toBinary(schemas.input, message)),
      (bytes: Buffer) => fromBinary(schemas.output, bytes),
      create(schemas.input, request),
      grpcMetadata,
      { deadline: Date.now() + 10_000 },
    );
    call.on("data", (message: MessageShape<O>) => {
      resolve(message);
      call.cancel();
    });
    call.on("error", reject);
    call.on("end", () => reject(new Error("the stream ended without a message")));
  });
}

/** The rejection of a grpc-js call, for asserting on its status code. */
export async function grpcJsError(call: Promise<unknown>): Promise<grpc.ServiceError> {
  try {
    await call;
  } catch (error) {
    return error as grpc.ServiceError;
  }
  throw new Error("expected the gRPC call to fail, but it succeeded");
}
