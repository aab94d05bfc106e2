"""Ultrasound imaging in the composition root: frames from an ``UltrasoundSource`` (the
backends: ``sim/ultrasound``, ``hardware_drivers``) through a quality worker running the
pure assessment of ``perception.quality``, handed to the scan and the recorder. Never in the
control loop. See ``docs/ultrasound.md``.

| module | concept |
| --- | --- |
| ``protocols.py`` | the typed seams: assessor, the scan's result hand-over, the recorder |
| ``worker.py`` | ``QualityWorker``: thread, process (shared memory) or inline; registry |
| ``pipeline.py`` | ``ImagingPipeline.step() -> ImagingStep``: grab, submit, poll |
| ``handover.py`` | ``ResultHandover``: frames and results to the scan and the recorder |
| ``lockstep.py`` | ``LockstepImaging``: frames between cycles of a lockstep scan |
| ``realtime.py`` | ``RealtimeImaging``: the pipeline stepped in a thread |
| ``frame_log.py`` | ``FrameLog``, ``KeptImage``: the lockstep scan's per-frame log |
| ``models.py`` | loading the shipped or a user's ONNX quality model |
| ``network.py`` | the shipped model's network, its losses and novelty fit (the ``train`` extra) |
| ``training.py`` | training the shipped model (the ``train`` extra) |

Import from the modules (``from robot_us.imaging.pipeline import ImagingPipeline``): the
package itself imports nothing, so loading the model (``robot-us quality``) does not start
the workers' machinery and nothing here imports torch until training runs."""
