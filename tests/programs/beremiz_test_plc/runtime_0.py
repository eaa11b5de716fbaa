# The py_ext file of the test PLC, shaped like the runtime_<n>.py files a Beremiz build puts in
# build/extra_files/: it binds the PLC global PYVAR through the library's accessors and defines
# the functions the program's python_eval commands call, and the four hooks.
import ctypes

from runtime.typemapping import TypeTranslator

_PYVAR_ctype, _PYVAR_unpack, _PYVAR_pack = TypeTranslator["DINT"]
_PySafeGetPLCGlob_PYVAR = PLCBinary.__SafeGetPLCGlob_PYVAR
_PySafeGetPLCGlob_PYVAR.restype = None
_PySafeGetPLCGlob_PYVAR.argtypes = [ctypes.POINTER(_PYVAR_ctype)]
_PySafeSetPLCGlob_PYVAR = PLCBinary.__SafeSetPLCGlob_PYVAR
_PySafeSetPLCGlob_PYVAR.restype = None
_PySafeSetPLCGlob_PYVAR.argtypes = [ctypes.POINTER(_PYVAR_ctype)]
_PyOnChangeCount_PYVAR = ctypes.c_uint.in_dll(PLCBinary, "__PYVAR_onchange_count")
_PyOnChangeFirst_PYVAR = _PYVAR_ctype.in_dll(PLCBinary, "__PYVAR_onchange_firstval")
_PyOnChangeLast_PYVAR = _PYVAR_ctype.in_dll(PLCBinary, "__PYVAR_onchange_lastval")
PLCGlobalsDesc.append(("PYVAR", "DINT"))


def _runtime_0_init():
    PLCObject.LogMessage(2, "py_ext init: PYVAR=%d" % PLCGlobals.PYVAR)


def _runtime_0_start():
    PLCObject.LogMessage(2, "py_ext start")


def _runtime_0_stop():
    PLCObject.LogMessage(2, "py_ext stop")


def _runtime_0_cleanup():
    PLCObject.LogMessage(2, "py_ext cleanup")


def MyPythonFunc(value):
    PLCGlobals.PYVAR = value * 2
    return value + 1


def Changes():
    change = OnChange.PYVAR
    return "%d %d %d" % (change.count, change.first, change.last)
