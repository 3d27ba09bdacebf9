"""The system family of the standard library. Commands, files, sockets and mail: ExecuteStreamCommand, ExecuteProcess,
TailFile, ListenTCP, PutTCP, ListenUDP, PutUDP, PutEmail.

One owner per family: add each class here once it is complete, and its
type name and module to the lazy ``PROCESSORS`` or ``CONTROLLER_SERVICES``
table of ``flowyard.processors`` (a test pins the tables to the families).
"""

from __future__ import annotations

from flowyard.processors.execute_process import ExecuteProcess
from flowyard.processors.execute_stream_command import ExecuteStreamCommand
from flowyard.processors.listen_tcp import ListenTCP
from flowyard.processors.listen_udp import ListenUDP
from flowyard.processors.put_email import PutEmail
from flowyard.processors.put_tcp import PutTCP
from flowyard.processors.put_udp import PutUDP
from flowyard.processors.tail_file import TailFile
from flowyard.runtime.sdk import ControllerService, Processor

__all__ = ["PROCESSORS", "SERVICES"]

PROCESSORS: tuple[type[Processor], ...] = (ExecuteStreamCommand, ExecuteProcess, TailFile, ListenTCP, PutTCP, ListenUDP,
                                            PutUDP, PutEmail)
SERVICES: tuple[type[ControllerService], ...] = ()
