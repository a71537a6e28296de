"""DataZone (V2 / SageMaker Unified Studio) emulated on moto's backend machinery."""
