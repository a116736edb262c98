// ThreadSanitizer suppressions for gRPC's callback API, for the executables
// that run a peer (synod-peer, the test binaries). Include it in exactly
// one .cc of an executable; it defines nothing unless built with TSan.
//
// gRPC hands a call from the thread that starts an operation to the one
// that completes it through atomics inside libgrpc, which is not
// instrumented: ThreadSanitizer sees the two halves in gRPC's own header
// code (CallOpSet::FillOps and FinalizeResult, CallbackWithSuccessTag::Set
// and Run, the reactor's setup and teardown, a unary call's reference
// count set up on one thread and dropped on another) as races. Only races with an
// access in that code are ignored: synod's own (the reactions take the
// stream's mutex first) are still seen.

#ifndef SYNOD_UTIL_TSAN_SUPPRESSIONS_H_
#define SYNOD_UTIL_TSAN_SUPPRESSIONS_H_

#if defined(__SANITIZE_THREAD__)
extern "C" const char* __tsan_default_suppressions() {
  return "race_top:^grpc::\n"
         "race:grpc::internal::CallOpSet\n"
         "race:grpc::internal::InterceptorBatchMethodsImpl\n"
         "race:grpc::internal::CallbackWithSuccessTag::Set\n"
         "race:grpc::internal::CallbackWithSuccessTag::Clear\n"
         "race:grpc::internal::ServerCallbackCall::Unref\n"
         "race:grpc::internal::ServerCallbackCall::MaybeDone\n"
         "race:ServerCallbackReaderWriterImpl::SetupReactor\n"
         // A unary call (Status) is set up on one of gRPC's threads and
         // finished on another; its reference count is handed over inside
         // libgrpc.
         "race:ServerCallbackUnaryImpl::Finish\n"
         // gRPC's callback server hands a new request's tag from the
         // thread that allocates it to its completion-queue thread.
         "race:grpc::Server::CallbackRequest\n"
         // The connection cap's socket mutator is built before the server
         // starts and called on gRPC's accept thread, started inside
         // libgrpc after it: TSan cannot see that order.
         "race:MutateFd2\n"
         "race:ServerCallbackReaderWriterImpl::~ServerCallbackReaderWriterImpl\n"
         // A server-streaming reactor (the Backup RPC's) is built on the
         // handler's thread and deleted in OnDone on an executor thread.
         "race:ServerCallbackWriterImpl::SetupReactor\n"
         "race:ServerCallbackWriterImpl::CallOnDone\n"
         // gRPC's timer manager parks its finished threads on a list and
         // joins them later from another of its threads; a process that
         // exits in between leaves one finished but unjoined, which TSan
         // reports as a leak. Only threads gRPC started are exempt.
         "thread:grpc_core::Thread::Thread\n";
}
#endif

#endif  // SYNOD_UTIL_TSAN_SUPPRESSIONS_H_
