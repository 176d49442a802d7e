"""The `sgnet-live` window (PyQt5): live view, HUD, legend, controls, Open3D point cloud.

Entry point: `app.gui.launch.run_gui(LiveOptions, GuiOptions)`. Qt and Open3D are imported
only by the modules that need them, so `sgnet-live --headless` never loads them.
"""
