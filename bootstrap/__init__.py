"""The composition root: the ``flowyard`` command (``cli``) and the functions
that put the runtime, the processor catalogue and the web API together
(``compose``). It sits above everything else; nothing imports it."""
