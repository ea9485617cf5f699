"""Conformance of `connector sandbox` with Digital Asset's own Ledger API v2 client stubs.

Uses only the gRPC stubs that the PyPI package dazl 8.9.0 ships, generated from Digital Asset's
com.daml.ledger.api.v2 definitions (module dazl._gen.com.daml.ledger.api.v2), the google.rpc messages those stubs
import, and grpcio. Nothing here comes from this project's own .proto files, so a wire mismatch (a field number,
a type, a service or method name) fails a check.

Run against a fresh sandbox of examples/refrigerated-transportation/connector.yaml started with a token:
    python ledger_api_v2.py --address 127.0.0.1:PORT --token TOKEN --expect-version 3.3.0
Every check asserts specific values; the script prints one line per check and exits non-zero on the first failure.
"""

import argparse
import queue
import sys
import threading
import traceback

import grpc
from google.rpc import error_details_pb2, status_pb2

from dazl._gen.com.daml.ledger.api.v2 import (
    command_completion_service_pb2 as completion_service,
    command_completion_service_pb2_grpc as completion_grpc,
    command_service_pb2 as command_service,
    command_service_pb2_grpc as command_grpc,
    commands_pb2 as commands,
    state_service_pb2 as state_service,
    state_service_pb2_grpc as state_grpc,
    transaction_filter_pb2 as tf,
    update_service_pb2 as update_service,
    update_service_pb2_grpc as update_grpc,
    value_pb2 as value,
    version_service_pb2 as version_service,
    version_service_pb2_grpc as version_grpc,
)

USER = "conformance"
OPERATOR = "Operator"
CALL_TIMEOUT = 10.0
STREAM_WAIT = 10.0
TEMPLATE = value.Identifier(
    package_id="#refrigerated-transportation",
    module_name="RefrigeratedTransportation",
    entity_name="Shipment",
)


class Ledger:
    """The stubs on one channel, every call carrying the token (or the metadata a check chooses)."""

    def __init__(self, address, token):
        self.channel = grpc.insecure_channel(address)
        self.token = token
        self.version = version_grpc.VersionServiceStub(self.channel)
        self.commands = command_grpc.CommandServiceStub(self.channel)
        self.state = state_grpc.StateServiceStub(self.channel)
        self.updates = update_grpc.UpdateServiceStub(self.channel)
        self.completions = completion_grpc.CommandCompletionServiceStub(self.channel)

    def auth(self):
        return [("authorization", "Bearer " + self.token)]

    def ledger_end(self):
        return self.state.GetLedgerEnd(
            state_service.GetLedgerEndRequest(), metadata=self.auth(), timeout=CALL_TIMEOUT
        ).offset


def party(name):
    return value.Value(party=name)


def text(s):
    return value.Value(text=s)


def int64(i):
    return value.Value(int64=i)


def record(**fields):
    return value.Record(fields=[value.RecordField(label=k, value=v) for k, v in fields.items()])


def shipment(linear_id):
    return record(
        linearId=text(linear_id),
        device=party("Device01"),
        supplyChainOwner=party(OPERATOR),
        supplyChainObserver=party("Retailer"),
        minHumidity=int64(10),
        maxHumidity=int64(60),
        minTemperature=int64(2),
        maxTemperature=int64(8),
        owner=party(OPERATOR),
        counterparty=party(OPERATOR),
        state=text("Created"),  # the mapping writes workflow states as text
        complianceStatus=value.Value(bool=True),
    )


def create_commands(command_id, linear_id):
    return commands.Commands(
        user_id=USER,
        command_id=command_id,
        act_as=[OPERATOR],
        commands=[
            commands.Command(
                create=commands.CreateCommand(template_id=TEMPLATE, create_arguments=shipment(linear_id))
            )
        ],
    )


def exercise_commands(command_id, contract_id, choice, argument):
    return commands.Commands(
        user_id=USER,
        command_id=command_id,
        act_as=[OPERATOR],
        commands=[
            commands.Command(
                exercise=commands.ExerciseCommand(
                    template_id=TEMPLATE,
                    contract_id=contract_id,
                    choice=choice,
                    choice_argument=value.Value(record=argument),
                )
            )
        ],
    )


def event_format(*parties, templates=None, verbose=True):
    if templates is None:
        cumulative = [tf.CumulativeFilter(wildcard_filter=tf.WildcardFilter())]
    else:
        cumulative = [tf.CumulativeFilter(template_filter=tf.TemplateFilter(template_id=t)) for t in templates]
    return tf.EventFormat(
        filters_by_party={p: tf.Filters(cumulative=cumulative) for p in parties},
        verbose=verbose,
    )


def update_format(*parties, shape=tf.TRANSACTION_SHAPE_ACS_DELTA):
    return tf.UpdateFormat(
        include_transactions=tf.TransactionFormat(event_format=event_format(*parties), transaction_shape=shape)
    )


def fields_of(rec):
    """A record's fields by label, as (kind, value) pairs, so checks compare plain Python values."""
    out = {}
    for field in rec.fields:
        kind = field.value.WhichOneof("sum")
        v = getattr(field.value, kind)
        if kind == "enum":
            v = v.constructor
        elif kind == "record":
            v = fields_of(v)
        out[field.label] = (kind, v)
    return out


def error_id(error):
    """The Daml error id of a failed call: from the google.rpc.ErrorInfo in the status details, which must agree with
    the `ID(category,correlation): ...` prefix of the message, as Canton writes both."""
    prefix = error.details().split("(", 1)[0]
    reasons = []
    for key, raw in error.trailing_metadata() or ():
        if key == "grpc-status-details-bin":
            status = status_pb2.Status.FromString(raw)
            assert status.code == error.code().value[0], (status.code, error.code())
            for detail in status.details:
                info = error_details_pb2.ErrorInfo()
                if detail.Unpack(info):
                    reasons.append(info.reason)
    assert reasons == [prefix], f"ErrorInfo reasons {reasons} vs message prefix {prefix!r} in {error.details()!r}"
    return prefix


def expect_error(call, code, daml_id=None, mentions=None):
    try:
        call()
    except grpc.RpcError as error:
        assert error.code() == code, f"expected {code}, got {error.code()}: {error.details()}"
        if daml_id is not None:
            assert error_id(error) == daml_id, f"expected error id {daml_id} in {error.details()!r}"
        if mentions is not None:
            assert mentions in error.details(), f"{mentions!r} not in {error.details()!r}"
        return error
    raise AssertionError(f"expected {code}, but the call succeeded")


class StreamReader:
    """Reads a server stream on a thread, so a check can wait for an item with a timeout and cancel the call."""

    def __init__(self, call):
        self.call = call
        self.items = queue.Queue()
        self.thread = threading.Thread(target=self._run, daemon=True)
        self.thread.start()

    def _run(self):
        try:
            for item in self.call:
                self.items.put(("item", item))
            self.items.put(("end", None))
        except grpc.RpcError as error:
            self.items.put(("error", error))

    def next(self):
        try:
            kind, item = self.items.get(timeout=STREAM_WAIT)
        except queue.Empty:
            raise AssertionError(f"no stream item within {STREAM_WAIT} s") from None
        if kind == "error" and item.code() != grpc.StatusCode.CANCELLED:
            raise AssertionError(f"stream failed: {item.code()} {item.details()}")
        return kind, item

    def cancel(self):
        self.call.cancel()
        self.thread.join(timeout=STREAM_WAIT)


def acs_ids(ledger, offset, fmt):
    responses = ledger.state.GetActiveContracts(
        state_service.GetActiveContractsRequest(active_at_offset=offset, event_format=fmt),
        metadata=ledger.auth(),
        timeout=CALL_TIMEOUT,
    )
    return [r.active_contract.created_event for r in responses]


# ---- the checks, in order: later ones build on the ledger state the earlier ones made ----------------------------


def check_version(ledger, state, args):
    response = ledger.version.GetLedgerApiVersion(
        version_service.GetLedgerApiVersionRequest(), metadata=ledger.auth(), timeout=CALL_TIMEOUT
    )
    assert response.version == args.expect_version, response.version
    assert response.features.HasField("user_management")
    assert response.features.user_management.supported is False


def check_ledger_end_of_a_fresh_ledger(ledger, state, args):
    assert ledger.ledger_end() == 0


def check_create(ledger, state, args):
    response = ledger.commands.SubmitAndWaitForTransaction(
        command_service.SubmitAndWaitForTransactionRequest(commands=create_commands("conf-create-1", "ship-1")),
        metadata=ledger.auth(),
        timeout=CALL_TIMEOUT,
    )
    tx = response.transaction
    assert tx.offset == 1, tx.offset
    assert tx.command_id == "conf-create-1", tx.command_id
    assert len(tx.update_id) == 64 and all(c in "0123456789abcdef" for c in tx.update_id), tx.update_id
    assert len(tx.events) == 1, tx.events
    created = tx.events[0].created
    assert tx.events[0].WhichOneof("event") == "created"
    assert created.offset == 1 and created.node_id == 0
    assert (created.template_id.module_name, created.template_id.entity_name) == ("RefrigeratedTransportation", "Shipment")
    assert list(created.signatories) == [OPERATOR], created.signatories
    # The payload's other parties, as a participant reports a template's observers (sorted).
    assert list(created.observers) == ["Device01", "Retailer"], created.observers
    assert list(created.witness_parties) == [OPERATOR], created.witness_parties
    fields = fields_of(created.create_arguments)
    assert fields["linearId"] == ("text", "ship-1"), fields
    assert fields["device"] == ("party", "Device01"), fields
    assert fields["maxTemperature"] == ("int64", 8), fields
    assert fields["state"] == ("text", "Created"), fields
    assert fields["complianceStatus"] == ("bool", True), fields
    assert created.contract_id.startswith("00") and len(created.contract_id) == 66, created.contract_id
    state["create"] = tx
    state["contract"] = created.contract_id
    assert ledger.ledger_end() == 1


def check_exercise(ledger, state, args):
    request = command_service.SubmitAndWaitForTransactionRequest(
        commands=exercise_commands(
            "conf-transfer-1", state["contract"], "TransferResponsibility", record(counterparty=party("Carrier"))
        ),
        transaction_format=tf.TransactionFormat(
            event_format=event_format(OPERATOR), transaction_shape=tf.TRANSACTION_SHAPE_LEDGER_EFFECTS
        ),
    )
    tx = ledger.commands.SubmitAndWaitForTransaction(request, metadata=ledger.auth(), timeout=CALL_TIMEOUT).transaction
    assert tx.offset == 2, tx.offset
    assert [e.WhichOneof("event") for e in tx.events] == ["exercised", "created"], tx.events
    exercised = tx.events[0].exercised
    assert exercised.contract_id == state["contract"]
    assert exercised.choice == "TransferResponsibility"
    assert exercised.consuming is True
    assert list(exercised.acting_parties) == [OPERATOR]
    assert fields_of(exercised.choice_argument.record) == {"counterparty": ("party", "Carrier")}
    successor = tx.events[1].created
    fields = fields_of(successor.create_arguments)
    assert fields["state"] == ("text", "InTransit"), fields
    assert fields["counterparty"] == ("party", "Carrier"), fields
    assert fields["linearId"] == ("text", "ship-1"), fields
    assert successor.contract_id != state["contract"]
    state["exercise"] = tx
    state["successor"] = successor.contract_id


def check_duplicate_command_id(ledger, state, args):
    expect_error(
        lambda: ledger.commands.SubmitAndWait(
            command_service.SubmitAndWaitRequest(commands=create_commands("conf-create-1", "ship-1-again")),
            metadata=ledger.auth(),
            timeout=CALL_TIMEOUT,
        ),
        grpc.StatusCode.ALREADY_EXISTS,
        daml_id="DUPLICATE_COMMAND",
        mentions=state["create"].update_id,
    )
    assert ledger.ledger_end() == 2, "a duplicate changes nothing"


def check_active_contracts_at_offsets(ledger, state, args):
    past = acs_ids(ledger, 1, event_format(OPERATOR))
    assert [c.contract_id for c in past] == [state["contract"]], past
    assert fields_of(past[0].create_arguments)["state"] == ("text", "Created")
    now = acs_ids(ledger, 2, event_format(OPERATOR, templates=[TEMPLATE]))
    assert [c.contract_id for c in now] == [state["successor"]], now
    assert list(now[0].witness_parties) == [OPERATOR]
    carrier = acs_ids(ledger, 2, event_format("Carrier"))
    assert [c.contract_id for c in carrier] == [state["successor"]], "a party the payload names sees the contract"
    assert list(carrier[0].observers) == ["Carrier", "Device01", "Retailer"], carrier[0].observers
    assert acs_ids(ledger, 2, event_format("Nobody")) == [], "a party with no stake sees nothing"
    terse = acs_ids(ledger, 2, event_format(OPERATOR, verbose=False))
    assert all(f.label == "" for f in terse[0].create_arguments.fields), "verbose = false drops labels"
    unknown = value.Identifier(package_id="#refrigerated-transportation", module_name="RefrigeratedTransportation", entity_name="Invoice")
    expect_error(
        lambda: acs_ids(ledger, 2, event_format(OPERATOR, templates=[unknown])),
        grpc.StatusCode.INVALID_ARGUMENT,
        daml_id="TEMPLATES_OR_INTERFACES_NOT_FOUND",
        mentions="RefrigeratedTransportation:Invoice",
    )
    expect_error(
        lambda: acs_ids(ledger, 99, event_format(OPERATOR)),
        grpc.StatusCode.OUT_OF_RANGE,
        daml_id="OFFSET_AFTER_LEDGER_END",
    )


def check_update_stream_with_live_tail(ledger, state, args):
    stream = StreamReader(
        ledger.updates.GetUpdates(
            update_service.GetUpdatesRequest(begin_exclusive=1, update_format=update_format(OPERATOR)),
            metadata=ledger.auth(),
        )
    )
    try:
        kind, first = stream.next()
        assert kind == "item", (kind, first)
        tx = first.transaction
        assert tx.offset == 2 and tx.update_id == state["exercise"].update_id, tx
        # ACS delta: the archive of the original and the successor's create, no exercise.
        assert [e.WhichOneof("event") for e in tx.events] == ["archived", "created"], tx.events
        assert tx.events[0].archived.contract_id == state["contract"]
        assert tx.events[1].created.contract_id == state["successor"]
        # Committed after the stream started: the live tail must deliver it.
        response = ledger.commands.SubmitAndWait(
            command_service.SubmitAndWaitRequest(commands=create_commands("conf-create-2", "ship-2")),
            metadata=ledger.auth(),
            timeout=CALL_TIMEOUT,
        )
        assert response.completion_offset == 3, response
        kind, live = stream.next()
        assert kind == "item", (kind, live)
        assert live.transaction.offset == 3, live.transaction
        assert live.transaction.update_id == response.update_id
        assert live.transaction.command_id == "conf-create-2"
        state["create2"] = live.transaction
    finally:
        stream.cancel()


def check_bounded_update_stream(ledger, state, args):
    responses = ledger.updates.GetUpdates(
        update_service.GetUpdatesRequest(begin_exclusive=0, end_inclusive=2, update_format=update_format(OPERATOR)),
        metadata=ledger.auth(),
        timeout=CALL_TIMEOUT,
    )
    offsets = [r.transaction.offset for r in responses]
    assert offsets == [1, 2], offsets


def check_update_by_id_and_offset(ledger, state, args):
    by_id = ledger.updates.GetUpdateById(
        update_service.GetUpdateByIdRequest(
            update_id=state["create"].update_id, update_format=update_format(OPERATOR)
        ),
        metadata=ledger.auth(),
        timeout=CALL_TIMEOUT,
    )
    assert by_id.WhichOneof("update") == "transaction"
    assert by_id.transaction.offset == 1
    assert by_id.transaction.command_id == "conf-create-1"
    assert by_id.transaction.events[0].created.contract_id == state["contract"]
    by_offset = ledger.updates.GetUpdateByOffset(
        update_service.GetUpdateByOffsetRequest(offset=2, update_format=update_format(OPERATOR)),
        metadata=ledger.auth(),
        timeout=CALL_TIMEOUT,
    )
    assert by_offset.transaction.update_id == state["exercise"].update_id
    expect_error(
        lambda: ledger.updates.GetUpdateById(
            update_service.GetUpdateByIdRequest(update_id="no-such-update", update_format=update_format(OPERATOR)),
            metadata=ledger.auth(),
            timeout=CALL_TIMEOUT,
        ),
        grpc.StatusCode.NOT_FOUND,
        daml_id="UPDATE_NOT_FOUND",
    )


def check_completion_stream(ledger, state, args):
    stream = StreamReader(
        ledger.completions.CompletionStream(
            completion_service.CompletionStreamRequest(user_id=USER, parties=[OPERATOR], begin_exclusive=0),
            metadata=ledger.auth(),
        )
    )
    try:
        seen = []
        for _ in range(3):
            kind, item = stream.next()
            assert kind == "item", (kind, item)
            assert item.WhichOneof("completion_response") == "completion", item
            seen.append(item.completion)
    finally:
        stream.cancel()
    assert [c.command_id for c in seen] == ["conf-create-1", "conf-transfer-1", "conf-create-2"], seen
    assert [c.offset for c in seen] == [1, 2, 3]
    expected_updates = [state["create"].update_id, state["exercise"].update_id, state["create2"].update_id]
    assert [c.update_id for c in seen] == expected_updates
    for completion in seen:
        assert completion.status.code == 0, completion.status
        assert completion.user_id == USER
        assert list(completion.act_as) == [OPERATOR]


def check_contract_not_found(ledger, state, args):
    expect_error(
        lambda: ledger.commands.SubmitAndWait(
            command_service.SubmitAndWaitRequest(
                commands=exercise_commands("conf-missing", "00" + "0" * 64, "Complete", record())
            ),
            metadata=ledger.auth(),
            timeout=CALL_TIMEOUT,
        ),
        grpc.StatusCode.NOT_FOUND,
        daml_id="CONTRACT_NOT_FOUND",
    )
    # The archived original is no longer active either.
    expect_error(
        lambda: ledger.commands.SubmitAndWait(
            command_service.SubmitAndWaitRequest(
                commands=exercise_commands("conf-archived", state["contract"], "Complete", record())
            ),
            metadata=ledger.auth(),
            timeout=CALL_TIMEOUT,
        ),
        grpc.StatusCode.NOT_FOUND,
        daml_id="CONTRACT_NOT_FOUND",
    )
    assert ledger.ledger_end() == 3


def check_invalid_arguments(ledger, state, args):
    two = create_commands("conf-two", "ship-x")
    two.commands.append(two.commands[0])
    expect_error(
        lambda: ledger.commands.SubmitAndWait(
            command_service.SubmitAndWaitRequest(commands=two), metadata=ledger.auth(), timeout=CALL_TIMEOUT
        ),
        grpc.StatusCode.INVALID_ARGUMENT,
        mentions="commands.commands: 2 commands",
    )
    no_id = create_commands("", "ship-x")
    expect_error(
        lambda: ledger.commands.SubmitAndWait(
            command_service.SubmitAndWaitRequest(commands=no_id), metadata=ledger.auth(), timeout=CALL_TIMEOUT
        ),
        grpc.StatusCode.INVALID_ARGUMENT,
        daml_id="MISSING_FIELD",
        mentions="commands.command_id",
    )
    assert ledger.ledger_end() == 3


def check_token_is_required(ledger, state, args):
    request = state_service.GetLedgerEndRequest()
    expect_error(
        lambda: ledger.state.GetLedgerEnd(request, timeout=CALL_TIMEOUT), grpc.StatusCode.UNAUTHENTICATED
    )
    error = expect_error(
        lambda: ledger.state.GetLedgerEnd(
            request, metadata=[("authorization", "Bearer not-" + ledger.token)], timeout=CALL_TIMEOUT
        ),
        grpc.StatusCode.UNAUTHENTICATED,
    )
    assert ledger.token not in error.details(), "the token must not be echoed"
    expect_error(
        lambda: ledger.commands.SubmitAndWait(
            command_service.SubmitAndWaitRequest(commands=create_commands("conf-no-token", "ship-x")),
            timeout=CALL_TIMEOUT,
        ),
        grpc.StatusCode.UNAUTHENTICATED,
    )
    assert ledger.ledger_end() == 3, "an unauthenticated submission commits nothing"


CHECKS = [
    check_version,
    check_ledger_end_of_a_fresh_ledger,
    check_create,
    check_exercise,
    check_duplicate_command_id,
    check_active_contracts_at_offsets,
    check_update_stream_with_live_tail,
    check_bounded_update_stream,
    check_update_by_id_and_offset,
    check_completion_stream,
    check_contract_not_found,
    check_invalid_arguments,
    check_token_is_required,
]


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--address", required=True, help="host:port of the sandbox")
    parser.add_argument("--token", required=True, help="the token the sandbox was started with")
    parser.add_argument("--expect-version", required=True, help="the Ledger API version the sandbox must report")
    args = parser.parse_args()
    ledger = Ledger(args.address, args.token)
    state = {}
    passed = 0
    for check in CHECKS:
        name = check.__name__.removeprefix("check_")
        try:
            check(ledger, state, args)
        except Exception:  # noqa: BLE001 - report any failure with its traceback, then stop
            print(f"FAIL {name}", flush=True)
            traceback.print_exc(file=sys.stdout)
            print(f"conformance: {passed} passed, 1 failed", flush=True)
            return 1
        passed += 1
        print(f"ok   {name}", flush=True)
    print(f"conformance: {passed} passed, 0 failed", flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
