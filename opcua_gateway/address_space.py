"""The runtimes as OPC UA nodes: ``Objects/<runtime ID>/<variable name>`` (docs/opcua.md).

Per runtime a folder holding one variable node per program variable (its OPC UA type from
plc_protocol/opcua_types.py, a ``Forced`` property below it) and three read-only nodes whose
names cannot be IEC identifiers: ``PLC status``, ``PLC program MD5``, ``PLC forces`` (the
force table as JSON). Values carry their quality: Good while samples arrive from a Started
runtime, UncertainLastUsableValue when the runtime is not Started or its samples stop (3 × the
interval they came at, force-model.md), BadNoCommunication once it is Disconnected. Nodes are
never removed when a runtime goes away (a SCADA keeps its tags, shown Bad); a new program
replaces only the variables whose name or type changed.
"""
import datetime
import json
import time
from dataclasses import dataclass, field

from asyncua import ua

from plc_protocol.iec_types import decode_sample
from plc_protocol.opcua_types import opcua_type, to_opcua
from plc_protocol.status import PLCStatus

NAMESPACE = "urn:plclink:runtimes"
STATUS_NODE, MD5_NODE, FORCES_NODE, FORCED_PROPERTY = (
    "PLC status", "PLC program MD5", "PLC forces", "Forced")
STALE_INTERVALS = 3        # samples missing for this many intervals: values are stale
MIN_STALE_AFTER = 1.0      # s; never stale sooner (a runtime publishing very fast)
GOOD = ua.StatusCode(ua.StatusCodes.Good)
STALE = ua.StatusCode(ua.StatusCodes.UncertainLastUsableValue)
NO_COMMUNICATION = ua.StatusCode(ua.StatusCodes.BadNoCommunication)


@dataclass
class VariableNode:
    index: int
    name: str
    type: str
    nodeid: ua.NodeId
    forced_id: ua.NodeId
    variant: ua.VariantType
    value: object = None
    quality: ua.StatusCode = NO_COMMUNICATION


@dataclass
class RuntimeNodes:
    plc_id: str
    folder: object
    status: PLCStatus = PLCStatus.DISCONNECTED
    md5: str | None = None
    table_md5: str | None = None       # the program the variable nodes were made for
    variables: dict = field(default_factory=dict)   # name -> VariableNode
    order: list = field(default_factory=list)       # VariableNode in table order
    last_sample: float | None = None
    interval: float | None = None

    @property
    def types(self) -> list:
        return [variable.type for variable in self.order]

    def quality(self, now: float) -> ua.StatusCode:
        if self.status == PLCStatus.DISCONNECTED or self.last_sample is None:
            return NO_COMMUNICATION
        stale_after = max(MIN_STALE_AFTER, STALE_INTERVALS * (self.interval or 0))
        if self.status != PLCStatus.STARTED or now - self.last_sample > stale_after:
            return STALE
        return GOOD


def _node_id(idx, plc_id, *parts) -> ua.NodeId:
    return ua.NodeId("/".join((plc_id, *parts)), idx)


class AddressSpace:
    """The nodes of every runtime seen; called from the gateway's one asyncio task."""

    def __init__(self, server, idx: int):
        self.server = server
        self.idx = idx
        self.runtimes = {}          # ID -> RuntimeNodes
        self.by_node = {}           # variable NodeId -> (RuntimeNodes, VariableNode)

    async def runtime(self, plc_id: str) -> RuntimeNodes:
        nodes = self.runtimes.get(plc_id)
        if nodes is not None:
            return nodes
        folder = await self.server.nodes.objects.add_folder(_node_id(self.idx, plc_id),
                                                            ua.QualifiedName(plc_id, self.idx))
        for name, variant in ((STATUS_NODE, ua.VariantType.String),
                              (MD5_NODE, ua.VariantType.String),
                              (FORCES_NODE, ua.VariantType.String)):
            await folder.add_variable(_node_id(self.idx, plc_id, name),
                                      ua.QualifiedName(name, self.idx), ua.Variant("", variant))
        nodes = self.runtimes[plc_id] = RuntimeNodes(plc_id, folder)
        return nodes

    async def _write(self, nodeid, value, variant, quality=GOOD, source_time=None):
        await self.server.write_attribute_value(nodeid, ua.DataValue(
            ua.Variant(value, variant), StatusCode_=quality,
            SourceTimestamp=source_time or datetime.datetime.now(datetime.timezone.utc)))

    async def set_status(self, plc_id: str, status: PLCStatus, md5: str | None) -> bool:
        """Show a status event; True when the variable table must be asked (new program)."""
        nodes = await self.runtime(plc_id)
        if status != nodes.status:
            nodes.status = status
            await self._write(_node_id(self.idx, plc_id, STATUS_NODE), status.value,
                              ua.VariantType.String)
        if md5 is not None and md5 != nodes.md5:
            nodes.md5 = md5
            await self._write(_node_id(self.idx, plc_id, MD5_NODE), md5, ua.VariantType.String)
        await self.refresh_quality(nodes, time.monotonic())
        return status != PLCStatus.DISCONNECTED and (
            nodes.table_md5 is None or (md5 is not None and md5 != nodes.table_md5))

    async def set_table(self, plc_id: str, variables, md5: str | None) -> None:
        """Variable nodes for a program's table: kept where name and type stay, made anew
        where they changed, removed where the program has them no more."""
        nodes = await self.runtime(plc_id)
        wanted = {variable.name: variable for variable in variables}
        gone = [node for name, node in nodes.variables.items()
                if name not in wanted or wanted[name].type != node.type]
        if gone:
            for node in gone:
                del nodes.variables[node.name]
                self.by_node.pop(node.nodeid, None)
            await self.server.delete_nodes([self.server.get_node(node.nodeid) for node in gone],
                                           recursive=True)
        order = []
        for variable in variables:
            node = nodes.variables.get(variable.name)
            if node is None:
                node = await self._add_variable(nodes, variable)
            node.index = variable.index
            order.append(node)
        nodes.order = order
        nodes.table_md5 = md5 or nodes.md5 or ""
        nodes.last_sample = None     # Bad until a sample of this program arrives

    async def _add_variable(self, nodes: RuntimeNodes, variable) -> VariableNode:
        data_type, variant_name = opcua_type(variable.type)
        variant = getattr(ua.VariantType, variant_name)
        nodeid = _node_id(self.idx, nodes.plc_id, variable.name)
        initial = ua.get_default_value(variant)
        node = await nodes.folder.add_variable(
            nodeid, ua.QualifiedName(variable.name, self.idx), ua.Variant(initial, variant),
            datatype=ua.NodeId(getattr(ua.ObjectIds, data_type)))
        await node.set_writable()
        # asyncua makes a node Good; it stays Bad until a sample of this program arrives
        await self._write(nodeid, initial, variant, NO_COMMUNICATION)
        forced_id = _node_id(self.idx, nodes.plc_id, variable.name, FORCED_PROPERTY)
        await node.add_property(forced_id, ua.QualifiedName(FORCED_PROPERTY, self.idx),
                                ua.Variant(False, ua.VariantType.Boolean))
        created = VariableNode(variable.index, variable.name, variable.type, nodeid, forced_id,
                               variant, initial)
        nodes.variables[variable.name] = created
        self.by_node[nodeid] = (nodes, created)
        return created

    async def set_values(self, plc_id: str, buffer: bytes) -> bool:
        """One ``<ID>.values`` sample; False when it does not fit the table (a new program:
        ask the table again)."""
        nodes = self.runtimes.get(plc_id)
        if nodes is None or nodes.table_md5 is None:
            return False
        try:
            values = decode_sample(nodes.types, buffer)
        except ValueError:
            return False
        now = time.monotonic()
        if nodes.last_sample is not None:
            gap = now - nodes.last_sample
            nodes.interval = gap if nodes.interval is None else 0.8 * nodes.interval + 0.2 * gap
        nodes.last_sample = now
        quality = nodes.quality(now)
        stamp = datetime.datetime.now(datetime.timezone.utc)
        for node, value in zip(nodes.order, values):
            value = to_opcua(node.type, value)
            if value == node.value and quality == node.quality:
                continue
            node.value, node.quality = value, quality
            await self._write(node.nodeid, value, node.variant, quality, stamp)
        return True

    async def refresh_quality(self, nodes: RuntimeNodes, now: float) -> None:
        """Mark the last values with what they are worth now (the runtime stopped, went
        silent or away); the value itself stays."""
        quality = nodes.quality(now)
        for node in nodes.order:
            if node.quality != quality:
                node.quality = quality
                await self._write(node.nodeid, node.value, node.variant, quality)

    async def refresh_all(self) -> None:
        now = time.monotonic()
        for nodes in list(self.runtimes.values()):
            await self.refresh_quality(nodes, now)

    async def set_forces(self, plc_id: str, entries: list) -> None:
        nodes = await self.runtime(plc_id)
        await self._write(_node_id(self.idx, plc_id, FORCES_NODE),
                          json.dumps(entries, sort_keys=True), ua.VariantType.String)
        forced = {entry.get("name") for entry in entries if isinstance(entry, dict)}
        for node in nodes.order:
            await self._write(node.forced_id, node.name in forced, ua.VariantType.Boolean)

    def variable_at(self, nodeid) -> tuple | None:
        """(RuntimeNodes, VariableNode) of a program variable's node, None for any other."""
        return self.by_node.get(nodeid)
