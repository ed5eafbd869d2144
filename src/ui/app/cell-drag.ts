import { CELL_DRAG_TYPE } from './cell-view.ts';

/** Where a dragged cell would land: before or after the cell under the pointer. */
interface DropTarget {
  section: Element;
  index: number;
  after: boolean;
}

/**
 * Lets cells be reordered by dragging their handle (HTML5 drag and drop) within `list`, the
 * element whose children are the cells' sections in notebook order. `move` gets the dragged
 * cell's id and the index it should end up at. A line shows where the cell would land.
 */
export function enableCellDrop(list: HTMLElement, move: (id: number, index: number) => void): void {
  const targetOf = (event: DragEvent): DropTarget | undefined => {
    if (!event.dataTransfer?.types.includes(CELL_DRAG_TYPE)) return undefined;
    const section = (event.target as Element).closest?.('section.cell');
    if (!section || section.parentElement !== list) return undefined;
    const rect = section.getBoundingClientRect();
    const index = [...list.children].indexOf(section);
    return { section, index, after: event.clientY > rect.top + rect.height / 2 };
  };
  const mark = (target: DropTarget | undefined): void => {
    for (const section of list.querySelectorAll('.drop-before, .drop-after'))
      section.classList.remove('drop-before', 'drop-after');
    target?.section.classList.add(target.after ? 'drop-after' : 'drop-before');
  };
  list.addEventListener('dragover', (event) => {
    const target = targetOf(event);
    if (!target) return;
    event.preventDefault();
    event.dataTransfer!.dropEffect = 'move';
    mark(target);
  });
  list.addEventListener('dragleave', () => mark(undefined));
  list.addEventListener('drop', (event) => {
    const target = targetOf(event);
    mark(undefined);
    const id = Number(event.dataTransfer?.getData(CELL_DRAG_TYPE));
    if (!target || !Number.isInteger(id)) return;
    event.preventDefault();
    const from = [...list.children].findIndex((s) => (s as HTMLElement).dataset.cellId === `${id}`);
    const index = target.index + (target.after ? 1 : 0);
    move(id, from !== -1 && from < index ? index - 1 : index);
  });
}
